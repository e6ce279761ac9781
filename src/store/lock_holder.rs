//! Who holds a store file's lock, for the warning a second router on the same file logs.
//!
//! redb locks its file with open file description locks, which the kernel reports without a
//! process id (`/proc/locks` shows -1). So the holder is found the other way round: a process
//! (other than this one) with the same file open and a lock listed in that descriptor's
//! `/proc/<pid>/fdinfo`. Only processes this user may inspect are seen; Linux only.

use std::path::Path;

/// `pid 1234 (junction)` when a holder is found.
pub fn lock_holder(path: &Path) -> Option<String> {
    imp::lock_holder(path)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::fs;
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    pub fn lock_holder(path: &Path) -> Option<String> {
        let file = fs::metadata(path).ok()?;
        let wanted = (file.dev(), file.ino());
        let me = std::process::id().to_string();
        for process in fs::read_dir("/proc").ok()?.flatten() {
            let pid = process.file_name().to_string_lossy().into_owned();
            if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(fds) = fs::read_dir(process.path().join("fd")) else {
                continue; // gone, or not ours to inspect
            };
            for fd in fds.flatten() {
                let same = fs::metadata(fd.path())
                    .is_ok_and(|m| (m.dev(), m.ino()) == wanted && m.is_file());
                let info = process.path().join("fdinfo").join(fd.file_name());
                let locked = same
                    && fs::read_to_string(info)
                        .is_ok_and(|text| text.lines().any(|l| l.starts_with("lock:")));
                if locked {
                    let comm = fs::read_to_string(process.path().join("comm")).unwrap_or_default();
                    return Some(format!("pid {pid} ({})", comm.trim()));
                }
            }
        }
        None
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub fn lock_holder(_: &std::path::Path) -> Option<String> {
        None
    }
}
