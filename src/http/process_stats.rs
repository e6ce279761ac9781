//! This process's resident memory and open file descriptors, read from `/proc/self` (Linux;
//! `None` elsewhere), for the metrics and the admin dashboard.

/// Resident memory in bytes (`VmRSS` of `/proc/self/status`).
pub fn resident_memory_bytes() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib = line.split_whitespace().nth(1)?.parse::<f64>().ok()?;
    Some(kib * 1024.0)
}

/// Open file descriptors (entries of `/proc/self/fd`).
pub fn open_fds() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|entries| entries.count())
}
