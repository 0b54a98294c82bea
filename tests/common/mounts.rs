//! Filesystems that fail the way real media do: a small tmpfs (full, or
//! remounted read-only) and a read-only bind mount around one command. Both
//! need root; where they are not possible the test says why on stderr and
//! skips.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Cmd, Env, bash, is_root, sh_quote};

/// A tmpfs mounted on a folder, unmounted when dropped (declare it after
/// the [`Env`] holding the folder, so that it drops first).
pub struct Mount {
    pub dir: PathBuf,
}

impl Mount {
    /// `mount -t tmpfs -o size=SIZE tmpfs DIR`; `None` (and why, on
    /// stderr) when this machine does not allow it.
    pub fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir)
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Mount { dir: dir.into() }),
            Ok(o) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs here (not root, or no permission): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    /// `mount -o remount,ro`.
    pub fn remount_read_only(&self) -> bool {
        Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// Runs commands with one folder mounted read-only: a read-only bind mount
/// in a private mount namespace (`unshare`), so that nothing outlives the
/// command.
pub struct ReadOnly {
    wrapper: Vec<OsString>,
}

impl ReadOnly {
    /// `None` (after saying why) where that is not possible (it needs
    /// root).
    pub fn new(env: &Env, dir: &Path) -> Option<ReadOnly> {
        let remount =
            "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && exec \"$@\"";
        let probe = bash(
            env.root(),
            &format!(
                "unshare --mount --propagation private sh -c '{}' {} sh -c '! touch \"$0\"/probe 2>/dev/null' {}",
                remount.replace('\'', r"'\''"),
                sh_quote(dir),
                sh_quote(dir)
            ),
        );
        if !is_root() || probe.code != Some(0) {
            eprintln!(
                "SKIPPED: cannot make a read-only bind mount here (needs root and unshare){probe}"
            );
            return None;
        }
        let wrapper = [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            remount,
        ]
        .into_iter()
        .map(Into::into)
        .chain([dir.as_os_str().to_owned()])
        .collect();
        Some(ReadOnly { wrapper })
    }

    /// A `kluis` command that sees the folder read-only.
    pub fn kluis(&self, env: &Env) -> Cmd {
        let wrapper: Vec<&OsStr> = self.wrapper.iter().map(|a| a.as_os_str()).collect();
        env.kluis_under(&wrapper)
    }
}
