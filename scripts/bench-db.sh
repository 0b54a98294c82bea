# shellcheck shell=bash disable=SC2016  # the timed commands are single-quoted on purpose
# scripts/bench-db.sh: the live-database section of scripts/bench.sh
# (`scripts/bench.sh --db`, or DB=1), which sources this file twice:
# BENCH_DB_STAGE=install before its own tool checks, BENCH_DB_STAGE=run once
# kluis is built and its timing is set up (K, KEY, R, WORK, RUNS, RES,
# timed, settle, log, kluis_prep, machine, kluis_version). Not for running
# on its own.
#
# Data: a WooCommerce-like schema (the HPOS tables, trimmed), generated
# inside each server (PostgreSQL: INSERT … SELECT FROM generate_series;
# MariaDB: the Sequence engine's seq_1_to_N), deterministic, identical on
# both, in a database of its own (DB_NAME, default kluis_bench, or
# kluis_bench_N when DB_ORDERS is not 1000000), with a marker table
# bench_marker written last: a later run reuses it when the marker matches.
#   wc_orders           DB_ORDERS rows, date_created evenly over 2018-01-01 ..
#                       2020-12-31 (UTC), status, currency, total_amount
#                       decimal(26,8), customer_id, billing_email,
#                       ip_address, user_agent, customer_note (1 in 7)
#   wc_order_addresses  1.25 per order (billing; shipping for 1 in 4)
#   wc_orders_meta      0.5 per order
#   wc_order_lines      1.25 per order
# 4 x DB_ORDERS rows in all, a third of them of 2019. Indexes as WooCommerce
# (date_created, status, customer; order_id in every child table). On
# PostgreSQL the children have foreign keys to wc_orders (--db-child TABLE);
# on MariaDB none, as WooCommerce (--db-child TABLE.order_id=wc_orders.id).
# MariaDB also keeps a pristine copy (database DB_NAME_pristine), from which
# the 2019 rows are put back (INSERT IGNORE … SELECT) before every purge run
# and at the end; every table's row count is checked after each restore.
#
# Rows measured (RUNS times each, the tools taking turns; median wall time,
# peak RSS of the largest process; the tables warmed by one untimed dump):
#   export (each server): kluis archive --year 2019 --db URL
#     --db-table wc_orders:date_created --db-child … --drop COLUMN for
#     DB_DROP (default ip_address, user_agent: not needed for the books) and
#     --keep for DB_KEEP (default billing_email address_type address_1 email
#     phone: contact data, which a live
#     database's archive must decide about; an invoice needs it), into a
#     fresh vault and medium (written, fsynced, read back,
#     verified; parity files, the default) against the server's client
#     dumping the same rows and columns, in key order, in one snapshot, as
#     one stream: PGTZ=UTC psql -c 'BEGIN ISOLATION LEVEL REPEATABLE READ'
#     -c "\copy (SELECT … ORDER BY key) TO STDOUT CSV HEADER" (4x) -c COMMIT,
#     and mariadb --batch --quick -e "START TRANSACTION WITH CONSISTENT
#     SNAPSHOT; SELECT …" | zstd -3 -T0 | age -r R > file (children through
#     the same IN-subquery on the orders of 2019 that kluis uses).
#   purge (MariaDB): kluis archive … --purge-source --json (export, archive,
#     verify, then the chunked purge) against pt-archiver --purge
#     --bulk-delete --limit 1000 --file (plain text, uncompressed), which
#     knows one table at a time: once per child table with
#     --where "order_id IN (SELECT id FROM wc_orders WHERE <2019>)", then for
#     wc_orders with the date range (its time per table is shown too).
#     After each run the tables must hold exactly the other years' rows.
# The generated commands are in $WORK/db/*.sh; kluis's JSON reports in
# $WORK/db/*.json. Table (Markdown): $WORK/db-table.md.

if [ -z "${BENCH_DB_STAGE:-}" ]; then
  echo "bench-db.sh: run scripts/bench.sh --db (which sources this file); see scripts/bench.sh --help" >&2
  exit 2
fi

# ================================================================ install
if [ "$BENCH_DB_STAGE" = install ]; then
  db_need=()
  for db_pair in age:age zstd:zstd /usr/bin/time:time psql:postgresql-client mariadb:mariadb-client \
    pt-archiver:percona-toolkit; do
    command -v "${db_pair%%:*}" > /dev/null || db_need+=("${db_pair#*:}")
  done
  perl -MDBD::mysql -e 1 2> /dev/null || db_need+=(libdbd-mysql-perl)   # pt-archiver's driver
  if [ "${#db_need[@]}" -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || { echo "bench.sh --db: missing ${db_need[*]}: apt-get install them, or run as root" >&2; exit 1; }
    echo "bench.sh --db: apt-get install ${db_need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${db_need[@]}" > /dev/null ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${db_need[@]}" > /dev/null; } ||
      { echo "bench.sh --db: could not install ${db_need[*]}" >&2; exit 1; }
  fi
  unset db_need db_pair
  return 0
fi

# ================================================================ run
# What is measured: the binary as built now (the checkout may move on during
# the run), and whether it holds changes not in that commit.
DB_KLUIS=$(kluis_version)
if [ -z "${KLUIS:-}" ] && ! git -C "$REPO" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2> /dev/null; then
  DB_KLUIS+=" + uncommitted changes to src/"
fi
DB_ORDERS=${DB_ORDERS:-1000000}
[[ $DB_ORDERS =~ ^[1-9][0-9]*$ ]] && [ "$DB_ORDERS" -ge 100 ] || { echo "bench.sh --db: DB_ORDERS must be a number >= 100" >&2; exit 2; }
if [ "$DB_ORDERS" = 1000000 ]; then DB_NAME=${DB_NAME:-kluis_bench}; else DB_NAME=${DB_NAME:-kluis_bench_$DB_ORDERS}; fi
[[ $DB_NAME =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "bench.sh --db: DB_NAME must be a plain lowercase name" >&2; exit 2; }
DB_SERVERS=${DB_SERVERS-postgres mariadb}
DB_PURGE=${DB_PURGE:-1}
DB_DROP=${DB_DROP-ip_address user_agent}
DB_KEEP=${DB_KEEP-billing_email address_type address_1 email phone}
DB_PG_HOST=${DB_PG_HOST:-127.0.0.1} DB_PG_PORT=${DB_PG_PORT:-5432} DB_PG_USER=${DB_PG_USER:-postgres}
DB_MY_HOST=${DB_MY_HOST:-127.0.0.1} DB_MY_PORT=${DB_MY_PORT:-3306} DB_MY_USER=${DB_MY_USER:-root}
DBW=$WORK/db
mkdir -p "$DBW"
rm -rf "$DBW"/*.json "$DBW/checks" "$DBW"/pt-*
GEN_VERSION="wc-1 orders=$DB_ORDERS"
# 2018-01-01 .. 2020-12-31: 1096 days
SPAN=94694400
YEAR_PG="date_created >= '2019-01-01 00:00:00+00' AND date_created < '2020-01-01 00:00:00+00'"
YEAR_MY="date_created >= '2019-01-01 00:00:00' AND date_created < '2020-01-01 00:00:00'"
TABLES="wc_orders wc_order_addresses wc_orders_meta wc_order_lines"
CHILDREN="wc_order_addresses wc_orders_meta wc_order_lines"
export DB_NAME DBW

has_server() { [[ " $DB_SERVERS " == *" $1 "* ]]; }
pg() { psql -X -q -v ON_ERROR_STOP=1 -h "$DB_PG_HOST" -p "$DB_PG_PORT" -U "$DB_PG_USER" "$@"; }
my() { mariadb --protocol=tcp -h "$DB_MY_HOST" -P "$DB_MY_PORT" -u "$DB_MY_USER" "$@"; }
if has_server postgres; then
  pg -d postgres -Atc 'SELECT 1' > /dev/null ||
    { echo "bench.sh --db: no PostgreSQL at $DB_PG_USER@$DB_PG_HOST:$DB_PG_PORT (DB_SERVERS=mariadb skips it)" >&2; exit 1; }
fi
if has_server mariadb; then
  my -N -e 'SELECT 1' > /dev/null ||
    { echo "bench.sh --db: no MariaDB at $DB_MY_USER@$DB_MY_HOST:$DB_MY_PORT (DB_SERVERS=postgres skips it)" >&2; exit 1; }
  my -N -e 'SELECT COUNT(*) FROM information_schema.ENGINES WHERE ENGINE = "SEQUENCE"' | grep -qx 1 ||
    { echo "bench.sh --db: this MariaDB has no Sequence engine (seq_1_to_N), which generates the data" >&2; exit 1; }
else
  DB_PURGE=0
fi

# ---------------------------------------------------------------- the data
sqlq() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }
# pick DIALECT EXPR WORD…: the ((EXPR) mod n)th word, as SQL
pick() {
  local d=$1 e=$2 list="" w
  shift 2
  for w in "$@"; do list+="${list:+, }$(sqlq "$w")"; done
  if [ "$d" = pg ]; then printf '(ARRAY[%s])[CAST(1 + (%s) %% %d AS integer)]' "$list" "$e" $#
  else printf 'ELT(1 + (%s) %% %d, %s)' "$e" $# "$list"; fi
}
FIRST=(Jan Pieter Daan Sem Lucas Sanne Emma Julia Sophie Lotte Anouk Fleur Eva Noël Zoë René Jürgen Søren Ayşe José)
LAST=("de Vries" "de Jong" Jansen Bakker Visser Smit Meijer "de Boer" Mulder "de Groot" Bos Vos "van Dijk" "van den Berg" "O'Neill")
CITY=(Utrecht Amsterdam Rotterdam "Den Haag" Eindhoven Groningen Tilburg Almere Breda Nijmegen Zwolle Leiden "'s-Hertogenbosch")
STREET=(Kerkstraat Dorpsstraat Schoolstraat Molenweg Stationsweg "Julianalaan" "Beatrixstraat" Parallelweg "Nieuwe Gracht" "Oude Rijn")
ITEM=("theepot blauw" "mok 350 ml" "schaal Delfts" "onderzetters 6x" "kaars wit" "vaas klein" "servet linnen, 4 stuks"
  kussenhoes "plaid wol" "dienblad eiken" "lamp messing" 'poster "Blauw huis" A2')
DOMAIN=(example.nl example.com voorbeeld.nl example.org mail.example.be example.de post.example.nl)
UA=("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.130 Safari/537.36"
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.4 Safari/605.1.15"
  "Mozilla/5.0 (iPhone; CPU iPhone OS 13_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0.5 Mobile/15E148 Safari/604.1"
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:72.0) Gecko/20100101 Firefox/72.0"
  "Mozilla/5.0 (Linux; Android 10; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.136 Mobile Safari/537.36")
NOTE=("Graag bij de buren afgeven, nr. 12" 'Bel "even" aan a.u.b.' "Cadeauverpakking graag" "Niet voor 10:00 bezorgen"
  "Factuur op naam van het bedrijf; btw-nummer volgt" "Achterom, de poort is open")

# gen_sql DIALECT N: the whole generation, as SQL for psql or mariadb
gen_sql() {
  local d=$1 n=$2 ts dec txt int div cust date email cpt
  cpt=$(( n / 4 > 0 ? n / 4 : 1 ))
  if [ "$d" = pg ]; then
    ts=timestamptz dec=numeric txt="CAST(%s AS text)" int="CAST(%s AS integer)" div=/
    date="timestamptz '2018-01-01 00:00:00+00' + ((i - 1) * $SPAN / $n) * interval '1 second'"
    series() { printf 'generate_series(%s::bigint, %s, %s) AS g(i)' "$1" "$n" "$2"; }
  else
    ts=datetime dec=decimal txt="CAST(%s AS CHAR)" int="%s" div=DIV
    date="TIMESTAMP'2018-01-01 00:00:00' + INTERVAL ((i - 1) * $SPAN DIV $n) SECOND"
    series() { printf '(SELECT seq AS i FROM seq_%s_to_%s_step_%s) AS g' "$1" "$n" "$2"; }
  fi
  # shellcheck disable=SC2059
  astext() { printf "$txt" "$1"; }
  # shellcheck disable=SC2059
  letter() { printf "SUBSTR('ABCDEFGHJKLMNPRSTVWXZ', $int, 1)" "1 + ($1) % 21"; }
  cust="(1 + (i * 48271) % $cpt)"
  email="CONCAT('klant', $cust, '@', $(pick "$d" "$cust" "${DOMAIN[@]}"))"
  local engine="" ; [ "$d" = my ] && engine=" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
  local pk=""; [ "$d" = my ] && pk=" PRIMARY KEY"
  cat <<SQL
CREATE TABLE wc_orders (
  id bigint NOT NULL$pk,
  date_created $ts NOT NULL,
  status varchar(20) NOT NULL,
  currency varchar(10) NOT NULL,
  total_amount $dec(26,8) NOT NULL,
  customer_id bigint NOT NULL,
  billing_email varchar(320),
  ip_address varchar(100),
  user_agent text,
  customer_note text
)$engine;
CREATE TABLE wc_order_addresses (
  id bigint NOT NULL$pk,
  order_id bigint NOT NULL,
  address_type varchar(20) NOT NULL,
  first_name text,
  last_name text,
  company text,
  address_1 text,
  city text,
  postcode text,
  country text,
  email varchar(320),
  phone varchar(100)
)$engine;
CREATE TABLE wc_orders_meta (
  id bigint NOT NULL$pk,
  order_id bigint NOT NULL,
  meta_key varchar(255),
  meta_value text
)$engine;
CREATE TABLE wc_order_lines (
  order_item_id bigint NOT NULL$pk,
  order_id bigint NOT NULL,
  order_item_name text NOT NULL,
  qty integer NOT NULL,
  line_total $dec(26,8) NOT NULL
)$engine;
INSERT INTO wc_orders
SELECT i, $date,
  $(pick "$d" "(i * 7919) % 1009" wc-completed wc-completed wc-completed wc-completed wc-completed wc-completed \
    wc-completed wc-processing wc-refunded wc-cancelled wc-on-hold),
  CASE WHEN i % 25 = 0 THEN 'USD' ELSE 'EUR' END,
  CAST(((i * 7919) % 49000 + 495) / 100.0 AS $dec(26,8)),
  $cust, $email,
  CONCAT(1 + i % 223, '.', (i * 7) % 256, '.', (i * 13) % 256, '.', 1 + (i * 17) % 254),
  $(pick "$d" "(i * 31) % 101" "${UA[@]}"),
  CASE WHEN i % 7 = 0 THEN $(pick "$d" "(i $div 7) % 13" "${NOTE[@]}") END
FROM $(series 1 1);
INSERT INTO wc_order_addresses
SELECT i, i, 'billing', $(pick "$d" "(i * 13) % 97" "${FIRST[@]}"), $(pick "$d" "(i * 17) % 89" "${LAST[@]}"),
  CASE WHEN i % 10 = 0 THEN CONCAT($(pick "$d" "(i * 19) % 83" "${LAST[@]}"), ' B.V.') END,
  CONCAT($(pick "$d" "(i * 23) % 79" "${STREET[@]}"), ' ', 1 + (i * 7) % 180),
  $(pick "$d" "(i * 29) % 73" "${CITY[@]}"),
  CONCAT(1000 + (i * 7919) % 9000, ' ', $(letter i), $(letter "i * 7")),
  $(pick "$d" "i % 20" NL NL NL NL NL NL NL NL NL NL NL NL NL NL NL NL BE BE DE DE),
  $email,
  CONCAT('+316', LPAD($(astext "(i * 104729) % 100000000"), 8, '0'))
FROM $(series 1 1);
INSERT INTO wc_order_addresses
SELECT $n + i, i, 'shipping', $(pick "$d" "(i * 37) % 97" "${FIRST[@]}"), $(pick "$d" "(i * 41) % 89" "${LAST[@]}"),
  NULL,
  CONCAT($(pick "$d" "(i * 43) % 79" "${STREET[@]}"), ' ', 1 + (i * 11) % 180),
  $(pick "$d" "(i * 47) % 73" "${CITY[@]}"),
  CONCAT(1000 + (i * 104729) % 9000, ' ', $(letter "i * 3"), $(letter "i * 5")),
  'NL', NULL, NULL
FROM $(series 4 4);
INSERT INTO wc_orders_meta
SELECT i $div 2, i,
  $(pick "$d" "(i $div 2) % 4" _billing_vat_number _wc_order_attribution_source_type _wc_order_attribution_utm_source _order_stock_reduced),
  CASE (i $div 2) % 4
    WHEN 0 THEN CONCAT('NL', LPAD($(astext "(i * 7919) % 1000000000"), 9, '0'), 'B01')
    WHEN 1 THEN $(pick "$d" "i % 3" organic typein referral)
    WHEN 2 THEN $(pick "$d" "i % 4" google newsletter facebook "(direct)")
    ELSE 'yes' END
FROM $(series 2 2);
INSERT INTO wc_order_lines
SELECT i, i, $(pick "$d" "(i * 53) % 101" "${ITEM[@]}"), 1 + (i * 7) % 5, CAST(((i * 7919) % 49000 + 495) / 100.0 AS $dec(26,8))
FROM $(series 1 1);
INSERT INTO wc_order_lines
SELECT $n + i, i, 'verzendkosten', 1, 4.95
FROM $(series 2 4);
SQL
  if [ "$d" = pg ]; then
    cat <<'SQL'
ALTER TABLE wc_orders ADD PRIMARY KEY (id);
ALTER TABLE wc_order_addresses ADD PRIMARY KEY (id);
ALTER TABLE wc_orders_meta ADD PRIMARY KEY (id);
ALTER TABLE wc_order_lines ADD PRIMARY KEY (order_item_id);
CREATE INDEX wc_orders_date_created ON wc_orders (date_created);
CREATE INDEX wc_orders_status ON wc_orders (status);
CREATE INDEX wc_orders_customer ON wc_orders (customer_id, billing_email);
CREATE UNIQUE INDEX wc_order_addresses_type_order ON wc_order_addresses (address_type, order_id);
CREATE INDEX wc_order_addresses_order_id ON wc_order_addresses (order_id);
CREATE INDEX wc_order_addresses_email ON wc_order_addresses (email);
CREATE INDEX wc_order_addresses_phone ON wc_order_addresses (phone);
CREATE INDEX wc_orders_meta_order_key ON wc_orders_meta (order_id, meta_key);
CREATE INDEX wc_orders_meta_key ON wc_orders_meta (meta_key);
CREATE INDEX wc_order_lines_order_id ON wc_order_lines (order_id);
ALTER TABLE wc_order_addresses ADD FOREIGN KEY (order_id) REFERENCES wc_orders (id);
ALTER TABLE wc_orders_meta ADD FOREIGN KEY (order_id) REFERENCES wc_orders (id);
ALTER TABLE wc_order_lines ADD FOREIGN KEY (order_id) REFERENCES wc_orders (id);
SQL
  else
    cat <<'SQL'
ALTER TABLE wc_orders ADD KEY date_created (date_created), ADD KEY status (status),
  ADD KEY customer_id_billing_email (customer_id, billing_email(171));
ALTER TABLE wc_order_addresses ADD UNIQUE KEY address_type_order_id (address_type, order_id),
  ADD KEY order_id (order_id), ADD KEY email (email(191)), ADD KEY phone (phone);
ALTER TABLE wc_orders_meta ADD KEY order_id (order_id, meta_key(100)), ADD KEY meta_key_value (meta_key(100), meta_value(82));
ALTER TABLE wc_order_lines ADD KEY order_id (order_id);
ANALYZE TABLE wc_orders, wc_order_addresses, wc_orders_meta, wc_order_lines;
SQL
  fi
}

# Refuse to drop a database that holds anything but the bench's tables.
ours_only() {  # "LIST OF TABLE NAMES"
  local t
  for t in $1; do
    [[ " $TABLES bench_marker " == *" $t "* ]] || {
      log "FAILED: database $DB_NAME holds table $t, not one of the bench's; set DB_NAME to another name"; exit 1; }
  done
}

pg_ready() {
  local have
  have=$(pg -d "$DB_NAME" -Atc 'SELECT v FROM bench_marker' 2> /dev/null || true)
  [ "$have" = "$GEN_VERSION" ] && return 0
  if [ "$(pg -d postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = '$DB_NAME'")" = 1 ]; then
    ours_only "$(pg -d "$DB_NAME" -Atc "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")"
    pg -d postgres -c "DROP DATABASE $DB_NAME"
  fi
  log "PostgreSQL: generating $DB_NAME ($DB_ORDERS orders, ≈$((DB_ORDERS * 4)) rows; this takes a while)"
  local t0=$SECONDS
  pg -d postgres -c "CREATE DATABASE $DB_NAME"
  { echo "SET TIME ZONE 'UTC';"; gen_sql pg "$DB_ORDERS"; } | pg -d "$DB_NAME" -f - > /dev/null
  pg -d "$DB_NAME" -c 'VACUUM (FREEZE, ANALYZE)'
  pg -d "$DB_NAME" -c "CREATE TABLE bench_marker (v text PRIMARY KEY); INSERT INTO bench_marker VALUES ('$GEN_VERSION')"
  log "PostgreSQL: generated in $((SECONDS - t0)) s"
}

my_ready() {
  local have t
  have=$(my -N -D "$DB_NAME" -e 'SELECT v FROM bench_marker' 2> /dev/null || true)
  [ "$have" = "$GEN_VERSION" ] && return 0
  for t in "$DB_NAME" "${DB_NAME}_pristine"; do
    ours_only "$(my -N -e "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$t'")"
    my -e "DROP DATABASE IF EXISTS $t"
  done
  log "MariaDB: generating $DB_NAME and ${DB_NAME}_pristine ($DB_ORDERS orders, ≈$((DB_ORDERS * 4)) rows each; this takes a while)"
  local t0=$SECONDS
  my -e "CREATE DATABASE ${DB_NAME}_pristine CHARACTER SET utf8mb4; CREATE DATABASE $DB_NAME CHARACTER SET utf8mb4"
  { echo "SET time_zone = '+00:00';"; gen_sql my "$DB_ORDERS"; } | my -D "${DB_NAME}_pristine" > /dev/null
  for t in $TABLES; do
    my -D "$DB_NAME" -e "CREATE TABLE $t LIKE ${DB_NAME}_pristine.$t; INSERT INTO $t SELECT * FROM ${DB_NAME}_pristine.$t; ANALYZE TABLE $t" > /dev/null
  done
  my -D "$DB_NAME" -e "CREATE TABLE bench_marker (v varchar(200) PRIMARY KEY); INSERT INTO bench_marker VALUES ('$GEN_VERSION')"
  log "MariaDB: generated in $((SECONDS - t0)) s"
}

# The filter of each table's 2019 rows (the children by their order).
year_filter() {  # DIALECT TABLE [ORDERS_TABLE]
  local y=$YEAR_PG o=${3:-wc_orders}
  [ "$1" = my ] && y=$YEAR_MY
  if [ "$2" = wc_orders ]; then echo "$y"; else echo "order_id IN (SELECT id FROM $o WHERE $y)"; fi
}
key_of() { [ "$1" = wc_order_lines ] && echo order_item_id || echo id; }
# The columns kluis archives (every column but DB_DROP's).
cols_of() {
  local c out=""
  case $1 in
    wc_orders) c="id date_created status currency total_amount customer_id billing_email ip_address user_agent customer_note" ;;
    wc_order_addresses) c="id order_id address_type first_name last_name company address_1 city postcode country email phone" ;;
    wc_orders_meta) c="id order_id meta_key meta_value" ;;
    wc_order_lines) c="order_item_id order_id order_item_name qty line_total" ;;
  esac
  for c in $c; do [[ " $DB_DROP " == *" $c "* ]] || out+="${out:+, }$c"; done
  echo "$out"
}
# counts DIALECT DATABASE: "TABLE ALL YEAR" lines
counts() {
  local t q="" d=$1
  for t in $TABLES; do
    q+="${q:+ UNION ALL }SELECT '$t', (SELECT COUNT(*) FROM $t), (SELECT COUNT(*) FROM $t WHERE $(year_filter "$d" "$t"))"
  done
  if [ "$d" = pg ]; then pg -d "$2" -At -F ' ' -c "$q"; else my -N -D "$2" -e "$q" | tr '\t' ' '; fi
}

# Put the 2019 rows back from the pristine copy, then check every count.
my_restore() {
  local t
  for t in $TABLES; do
    my -D "$DB_NAME" -e "INSERT IGNORE INTO $t SELECT * FROM ${DB_NAME}_pristine.$t
      WHERE $(year_filter my "$t" "${DB_NAME}_pristine.wc_orders")"
  done
  [ "$(counts my "$DB_NAME")" = "$MY_COUNTS" ] || { log "FAILED: restoring the 2019 rows of $DB_NAME"; counts my "$DB_NAME" >&2; exit 1; }
  my_quiet
}
# Wait (at most 120 s) until InnoDB has purged the history of the last
# deletes and inserts, which it does in the background.
my_quiet() {
  local t0=$SECONDS h
  while (( SECONDS - t0 < 120 )); do
    h=$(my -N -e "SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'")
    (( h < 1000 )) && return 0
    sleep 2
  done
  log "InnoDB history still $h after 120 s; going on"
}
# After a purge run: the tables hold exactly the other years' rows.
check_purged() {  # TOOL RUN [FOLDER of pt-archiver's files, one line a row]
  local t all year got want="" rows=0 lines
  while read -r t all year; do want+="$t $((all - year)) 0"$'\n'; rows=$((rows + year)); done <<< "$MY_COUNTS"
  got=$(counts my "$DB_NAME")
  if [ "$got"$'\n' = "$want" ]; then echo "purge $1 run $2: ok" >> "$DBW/checks"
  else echo "purge $1 run $2: DIFFERS: $(echo "$got" | tr '\n' ';')" >> "$DBW/checks"; fi
  if [ -n "${3:-}" ]; then
    lines=$(cat "$3"/*.txt | wc -l)
    [ "$lines" = "$rows" ] || echo "pt-archiver run $2 wrote $lines lines for $rows rows" >> "$DBW/checks"
  fi
}

# ---------------------------------------------------------------- commands
shq() { local q="'\\''"; printf "'%s'" "${1//\'/$q}"; }   # single-quoted for bash
DROPS=""
for c in $DB_DROP; do DROPS+=" --drop $c"; done
# Contact columns of a live database must be decided (docs/DATABASES.md):
# the customer's e-mail is kept on purpose, as an invoice needs it.
for c in $DB_KEEP; do DROPS+=" --keep $c"; done
PG_URL="postgres://$DB_PG_USER@$DB_PG_HOST:$DB_PG_PORT/$DB_NAME"
MY_URL="mysql://$DB_MY_USER@$DB_MY_HOST:$DB_MY_PORT/$DB_NAME"
KARGS_PG="--db $PG_URL --db-table wc_orders:date_created"
KARGS_MY="--db $MY_URL --db-table wc_orders:date_created"
for t in $CHILDREN; do
  KARGS_PG+=" --db-child $t"
  KARGS_MY+=" --db-child $t.order_id=wc_orders.id"
done
KARGS_PG+=$DROPS KARGS_MY+=$DROPS
export KARGS_PG KARGS_MY

# The dumps: one stream of the 4 tables in one snapshot, key order.
{
  echo '#!/usr/bin/env bash'
  echo '# the PostgreSQL anchor: psql \copy of the 2019 rows | zstd | age; $1: the output file'
  echo 'set -o pipefail'
  printf 'PGTZ=UTC psql -X -q -v ON_ERROR_STOP=1 -h %s -p %s -U %s -d %s \\\n' "$(shq "$DB_PG_HOST")" "$DB_PG_PORT" \
    "$(shq "$DB_PG_USER")" "$DB_NAME"
  echo "  -c 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' \\"
  for t in $TABLES; do
    printf '  -c %s \\\n' "$(shq "\\copy (SELECT $(cols_of "$t") FROM $t WHERE $(year_filter pg "$t") ORDER BY $(key_of "$t")) TO STDOUT WITH (FORMAT csv, HEADER)")"
  done
  echo "  -c COMMIT | zstd -3 -T0 -q | age -r \"\$R\" > \"\$1\""
} > "$DBW/dump-pg.sh"
{
  echo '#!/usr/bin/env bash'
  echo '# the MariaDB anchor: mariadb --batch --quick of the 2019 rows | zstd | age; $1: the output file'
  echo 'set -o pipefail'
  q="START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;"
  for t in $TABLES; do
    q+=" SELECT $(cols_of "$t") FROM $t WHERE $(year_filter my "$t") ORDER BY $(key_of "$t");"
  done
  q+=" COMMIT;"
  printf 'mariadb --protocol=tcp -h %s -P %s -u %s -D %s --batch --quick \\\n  -e %s \\\n' \
    "$(shq "$DB_MY_HOST")" "$DB_MY_PORT" "$(shq "$DB_MY_USER")" "$DB_NAME" "$(shq "$q")"
  echo "  | zstd -3 -T0 -q | age -r \"\$R\" > \"\$1\""
} > "$DBW/dump-my.sh"
# pt-archiver: children first (their rows are found through wc_orders).
{
  echo '#!/usr/bin/env bash'
  echo '# the purge anchor: pt-archiver, one table at a time, children first; $1: the output folder'
  echo 'set -e'
  echo 'mkdir -p "$1"; echo "start $(date +%s.%N)" > "$1/times"'
  for t in $CHILDREN wc_orders; do
    printf 'pt-archiver --no-version-check --source %s \\\n  --where %s \\\n' \
      "$(shq "h=$DB_MY_HOST,P=$DB_MY_PORT,u=$DB_MY_USER,D=$DB_NAME,t=$t")" "$(shq "$(year_filter my "$t")")"
    echo "  --file \"\$1/%D.%t.txt\" --purge --bulk-delete --limit 1000 --no-check-charset"
    echo "echo \"$t \$(date +%s.%N)\" >> \"\$1/times\""
  done
} > "$DBW/pt.sh"

# ---------------------------------------------------------------- runs
PG_VERSION="" MY_VERSION="" PG_COUNTS="" MY_COUNTS="" MY_POOL=""
if has_server postgres; then
  pg_ready
  PG_VERSION=$(pg -d "$DB_NAME" -Atc 'SHOW server_version')
  PG_COUNTS=$(counts pg "$DB_NAME")
  log "PostgreSQL $PG_VERSION, $DB_NAME: $(echo "$PG_COUNTS" | tr '\n' ';')"
fi
if has_server mariadb; then
  my_ready
  MY_VERSION=$(my -N -e 'SELECT VERSION()')
  MY_POOL=$(my -N -e 'SELECT @@innodb_buffer_pool_size')
  if [ -n "${DB_MY_POOL:-}" ]; then   # the server's buffer pool for this run, put back at the end
    want=$(numfmt --from=iec "$DB_MY_POOL")
    if [ "$want" != "$MY_POOL" ]; then
      my -e "SET GLOBAL innodb_buffer_pool_size = $want"
      # shellcheck disable=SC2064  # the old size, now
      trap "mariadb --protocol=tcp -h '$DB_MY_HOST' -P '$DB_MY_PORT' -u '$DB_MY_USER' -e 'SET GLOBAL innodb_buffer_pool_size = $MY_POOL' || true" EXIT
      for _ in $(seq 1 60); do   # it resizes in the background: done when its status says so, or is empty again
        st=$(my -N -e "SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'" | cut -f2)
        [[ ${st,,} == *complet* || -z $st ]] && break
        sleep 1
      done
      MY_POOL=$(my -N -e 'SELECT @@innodb_buffer_pool_size')
      log "MariaDB: innodb_buffer_pool_size set to $MY_POOL for this run (DB_MY_POOL)"
    fi
  fi
  MY_COUNTS=$(counts my "${DB_NAME}_pristine")
  my_restore   # a purge cut short by an earlier run
  log "MariaDB $MY_VERSION, $DB_NAME: $(echo "$MY_COUNTS" | tr '\n' ';')"
fi
# kluis asks for no decision on this schema: it calls no column sensitive-looking.
for srv in $DB_SERVERS; do
  export SRV=$srv
  case $srv in
    postgres) export KARGS=$KARGS_PG DUMP=$DBW/dump-pg.sh ;;
    mariadb) export KARGS=$KARGS_MY DUMP=$DBW/dump-my.sh ;;
    *) echo "bench.sh --db: DB_SERVERS: unknown server $srv" >&2; exit 2 ;;
  esac
  log "$srv: warming the tables (one untimed dump)"
  bash "$DUMP" "$DBW/warm.age"
  for ((i = 1; i <= RUNS; i++)); do
    export RUN=$i
    kluis_prep "$srv-$i"
    timed "export-$srv" kluis 'KLUIS_VAULT=$WORK/vault-$SRV-$RUN "$K" archive --json --year 2019 --to "$WORK/M-$SRV-$RUN" $KARGS > "$DBW/export-$SRV-$RUN.json"' \
      "$WORK/M-$srv-$i/2019-financial.kluis"
    rm -rf "$WORK/M-$srv-$i" "$WORK/vault-$srv-$i"
    rm -f "$DBW/dump-$srv.age"
    timed "export-$srv" dump 'bash "$DUMP" "$DBW/dump-$SRV.age"' "$DBW/dump-$srv.age"
  done
  # the last dump holds every row of 2019, with a header per table
  lines=$(age -d -i "$KEY" "$DBW/dump-$srv.age" | zstd -d -q | wc -l)
  c=$PG_COUNTS; [ "$srv" = mariadb ] && c=$MY_COUNTS
  want=$(awk '{s += $3} END {print s + 4}' <<< "$c")
  [ "$lines" = "$want" ] && echo "dump $srv: ok ($lines lines)" >> "$DBW/checks" ||
    echo "dump $srv: DIFFERS ($lines lines, not $want)" >> "$DBW/checks"
  rm -f "$DBW/dump-$srv.age" "$DBW/warm.age"
done

if [ "$DB_PURGE" = 1 ]; then
  export KARGS=$KARGS_MY
  for ((i = 1; i <= RUNS; i++)); do
    export RUN=$i
    my_restore
    kluis_prep "purge-$i"
    timed purge kluis 'KLUIS_VAULT=$WORK/vault-purge-$RUN "$K" archive --json --year 2019 --to "$WORK/M-purge-$RUN" $KARGS --purge-source > "$DBW/purge-kluis-$RUN.json"' \
      "$WORK/M-purge-$i/2019-financial.kluis"
    check_purged kluis "$i"
    rm -rf "$WORK/M-purge-$i" "$WORK/vault-purge-$i"
    my_restore
    rm -rf "$DBW/pt-$i"
    timed purge pt 'bash "$DBW/pt.sh" "$DBW/pt-$RUN"' "$DBW/pt-$i"
    check_purged pt "$i" "$DBW/pt-$i"
    rm -f "$DBW/pt-$i"/*.txt
  done
  my_restore   # leave the data complete for the next run
fi

DB_INFO=$(printf '%s|%s|%s|%s|%s|%s|%s' "$DB_ORDERS" "$DB_NAME" "$PG_VERSION" "$MY_VERSION" "$MY_POOL" "$DB_DROP" "$RUNS")
DB_KEEP_LIST="$DB_KEEP" python3 - "$RES" "$DBW" "$(machine)" "$DB_KLUIS" "$DB_INFO" "$PG_COUNTS" "$MY_COUNTS" <<'EOF' | tee "$WORK/db-table.md"
import csv, glob, json, os, statistics, sys
res, dbw, machine, version, info, pg_counts, my_counts = sys.argv[1:]
orders, dbname, pg_version, my_version, my_pool, dropped, runs = info.split("|")
rows = list(csv.DictReader(open(res), delimiter="\t"))
def runs_of(op, tool):
    return [r for r in rows if r["op"] == op and r["tool"] == tool]
def med(op, tool, key="wall_s"):
    v = [float(r[key]) for r in runs_of(op, tool)]
    return statistics.median(v) if v else None
def peak(op, tool):
    v = [int(r["rss_kib"]) for r in runs_of(op, tool)]
    return max(v) / 1024 if v else None
def counts(text):
    return {l.split()[0]: (int(l.split()[1]), int(l.split()[2])) for l in text.splitlines() if l.strip()}
pgc, myc = counts(pg_counts), counts(my_counts)
c = pgc or myc
total = sum(a for a, _ in c.values()); year = sum(y for _, y in c.values())
def s(x):
    return "-" if x is None else ("%.3f" % x if x < 10 else "%.1f" % x)
def mib(x):
    return "-" if x is None else "%.1f" % x

print("## kluis live-database bench\n")
print("%s; %s\n" % (version, machine))
print("Data: %s orders 2018-2020 (database %s), %s rows in 4 tables, of which fiscal year 2019: %s orders, %s rows (%s)."
      % (format(int(orders), ","), dbname, format(total, ","), format(c["wc_orders"][1], ","), format(year, ","),
         ", ".join("%s %s" % (t, format(y, ",")) for t, (_, y) in c.items())))
servers = []
if pg_version: servers.append("PostgreSQL %s (foreign keys; --db-child TABLE)" % pg_version)
if my_version: servers.append("MariaDB %s (no foreign keys; --db-child TABLE.order_id=wc_orders.id; innodb_buffer_pool_size %d MiB)"
                              % (my_version, int(my_pool) // 1048576))
print("Servers: %s. Columns dropped: %s; contact columns kept on purpose (--keep): %s."
      % ("; ".join(servers), dropped or "none", os.environ.get("DB_KEEP_LIST") or "none"))
print("Median wall seconds of %s run%s each, the tools taking turns; peak RSS: the largest process, max over the runs; "
      "kluis archive MB: the .kluis file (its parity files beside it not counted).\n" % (runs, "" if runs == "1" else "s"))

def kluis_json(pattern):
    out = []
    for f in sorted(glob.glob(os.path.join(dbw, pattern))):
        try:
            out.append(json.load(open(f)))
        except ValueError:
            pass
    return out

print("### Export of 2019 into an encrypted archive\n")
print("| server | kluis archive --db s | kluis MiB | dump \\| zstd -3 -T0 \\| age s | dump MiB | kluis / dump | kluis speed vs dump | kluis archive MB | dump file MB | rows in kluis's archive |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
def each(op, tool):
    return ", ".join(s(float(r["wall_s"])) for r in runs_of(op, tool))
speeds, rss, per_run = [], [], []
for srv, label, cnt, anchor in (("postgres", "PostgreSQL", pgc, "psql \\copy"), ("mariadb", "MariaDB", myc, "mariadb --batch --quick")):
    op = "export-" + srv
    k, d = med(op, "kluis"), med(op, "dump")
    if k is None:
        continue
    speeds.append((label, d / k)); rss.append(peak(op, "kluis"))
    per_run.append("%s: kluis %s; dump %s" % (label, each(op, "kluis"), each(op, "dump")))
    got = {}
    for j in kluis_json("export-%s-*.json" % srv):
        for t in j.get("tables", []):
            got.setdefault(t["table"].split("/")[-1].split(".")[-1], set()).add(t["rows_archived"])
    ok = all(got.get(t) == {y} for t, (_, y) in cnt.items())
    print("| %s (%s) | %s | %s | %s | %s | %.2f | %.2fx | %.1f | %.1f | %s |" % (
        label, anchor, s(k), mib(peak(op, "kluis")), s(d), mib(peak(op, "dump")), k / d, d / k,
        med(op, "kluis", "out_bytes") / 1e6, med(op, "dump", "out_bytes") / 1e6,
        "all %s, as counted in SQL" % format(sum(y for _, y in cnt.values()), ",") if ok else "DIFFER: %r" % got))
if per_run:
    print("\nEach run, s: " + "; ".join(per_run))

purge_k, purge_p = med("purge", "kluis"), med("purge", "pt")
if purge_k is not None:
    print("\n### Archive + purge of 2019 (MariaDB)\n")
    pj = kluis_json("purge-kluis-*.json")
    chunks = [j["purge"].get("chunks", 0) for j in pj if j.get("purge")]
    longest = [j["purge"].get("longest_chunk_ms", 0) for j in pj if j.get("purge")]
    p99 = [j["purge"].get("chunk_p99_ms", 0) for j in pj if j.get("purge")]
    # pt-archiver's time per table (from its run's time stamps)
    per = {}
    for f in glob.glob(os.path.join(dbw, "pt-*", "times")):
        stamps = [l.split() for l in open(f) if l.strip()]
        for (_, a), (t, b) in zip(stamps, stamps[1:]):
            per.setdefault(t, []).append(float(b) - float(a))
    print("| tool | s | peak MiB | output MB | tool s / kluis s |")
    print("|---|---:|---:|---:|---:|")
    print("| kluis archive --db … --purge-source (export, encrypted archive, verify, purge of 4 tables) | %s | %s | %.1f | 1 |"
          % (s(purge_k), mib(peak("purge", "kluis")), med("purge", "kluis", "out_bytes") / 1e6))
    print("| pt-archiver --purge --bulk-delete --limit 1000 --file (plain text), 4 tables, children first | %s | %s | %.1f | %.2f |"
          % (s(purge_p), mib(peak("purge", "pt")), med("purge", "pt", "out_bytes") / 1e6, purge_p / purge_k))
    for t in ("wc_order_addresses", "wc_orders_meta", "wc_order_lines", "wc_orders"):
        if t in per:
            o = statistics.median(per[t])
            print("| of which pt-archiver on %s | %s | | | %.2f |" % (t, s(o), o / purge_k))
    print("\nEach run, s: kluis %s; pt-archiver %s" % (each("purge", "kluis"), each("purge", "pt")))
    if chunks:
        print("kluis's purge (its --json report, per run): chunks %s; longest chunk transaction %s ms; 99th percentile %s ms"
              % (", ".join(str(x) for x in chunks), ", ".join("%.1f" % x for x in longest), ", ".join("%.1f" % x for x in p99)))

print("\n### Goals\n")
print("| goal | value | |")
print("|---|---:|---|")
def goal(text, ok, value):
    print("| %s | %s | %s |" % (text, value, "met" if ok else "**MISSED**"))
for label, x in speeds:
    goal("export, %s: kluis >= 0.8 x the dump's speed (time <= 1.25 x)" % label, x >= 0.8, "%.2fx" % x)
if rss:
    goal("export: kluis peak RSS <= 64 MiB", max(rss) <= 64, "%.1f MiB" % max(rss))
if purge_k is not None:
    x = purge_p / purge_k
    goal("archive + purge: kluis >= 5 x faster than pt-archiver (4 tables)", x >= 5, "%.2fx" % x)
    if p99:
        m = statistics.median(p99)
        goal("purge: 99th percentile chunk transaction <= 100 ms (median of runs; max %.1f)" % max(p99), m <= 100, "%.1f ms" % m)

checks = [l.strip() for l in open(os.path.join(dbw, "checks"))] if os.path.exists(os.path.join(dbw, "checks")) else []
print("\nChecked: " + "; ".join(checks))
busy = sum(int(r["busy"]) for r in rows)
print("\n%d of %d timed runs started while other processes kept the machine busy (after waiting the limit)." % (busy, len(rows)))
print("Commands: %s/dump-pg.sh, dump-my.sh, pt.sh; kluis %s" % (dbw, "archive --json --year 2019 --to MEDIUM --db URL --db-table wc_orders:date_created --db-child … " + " ".join("--drop " + d for d in dropped.split())))
EOF
