//! The chunks of unfinished uploads on disk, for `upload` paths: a folder per file in the temp
//! directory holding `chunk_<n>` files, and the whole file assembled from them into the upload
//! directory. The disk is the only record of what arrived, so an upload resumes across a
//! restart, and file names are checked here, before any of them becomes a path.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;

use crate::wamp::id::random_id;

/// What an uploaded file's body is first written to, in the temp directory: before the
/// request's fields are all known (the content may come before them) and checked.
const INCOMING_PREFIX: &str = ".incoming-";

/// A whole file being written in the upload directory, before its rename to its name.
const PART_PREFIX: &str = ".junction-upload-";

/// Removes the files of `folder` whose names start with `prefix` (left by a run that stopped
/// while writing them).
fn remove_files_starting(folder: &Path, prefix: &str) -> io::Result<()> {
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Whether `name` may name a file in the upload directory: one plain name, never a path.
/// A leading dot is refused too: no hidden files, and no clash with [`INCOMING_PREFIX`].
pub fn check_file_name(name: &str) -> Result<(), String> {
    let problem = if name.is_empty() {
        "is empty"
    } else if name.len() > 255 {
        "is longer than 255 bytes"
    } else if name.contains(['/', '\\']) {
        "has a path separator"
    } else if name.starts_with('.') {
        "starts with a dot"
    } else if name.chars().any(char::is_control) {
        "has a control character"
    } else {
        return Ok(());
    };
    Err(format!(
        "the file name {problem}: send a plain name like \"report.csv\""
    ))
}

/// The bound on unfinished uploads: how many at once, and how long one may wait for its next
/// chunk.
pub struct Pending {
    pub max: usize,
    pub timeout: Duration,
}

/// Why a chunk was not kept.
#[derive(Debug)]
pub enum PutError {
    /// A new upload past `max_pending_uploads` (the number).
    TooManyPending(usize),
    Io(io::Error),
}

impl From<io::Error> for PutError {
    fn from(e: io::Error) -> Self {
        PutError::Io(e)
    }
}

/// The chunk folders of one `upload` path.
pub struct ChunkStore {
    temp: PathBuf,
    pending: Pending,
    directory: PathBuf,
    permissions: Option<u32>,
    /// Files being assembled now: two requests completing the same file at once assemble it
    /// once.
    assembling: Mutex<HashSet<String>>,
}

/// A chunk's bytes as they arrive; removed when dropped unless [`ChunkStore::put`] took it.
pub struct Incoming {
    path: PathBuf,
    file: Option<tokio::fs::File>,
    /// Bytes written so far.
    pub written: u64,
}

impl Incoming {
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("incoming chunk already closed"));
        };
        file.write_all(bytes).await?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A file being assembled, released when dropped.
struct Claim<'a> {
    set: &'a Mutex<HashSet<String>>,
    name: &'a str,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.set.lock().remove(self.name);
    }
}

/// Why a file could not be assembled.
pub enum AssembleError {
    /// The chunks add up to another size than the client announced (the chunks are dropped).
    Size {
        received: u64,
        total: u64,
    },
    Io(io::Error),
}

impl From<io::Error> for AssembleError {
    fn from(e: io::Error) -> Self {
        AssembleError::Io(e)
    }
}

impl ChunkStore {
    /// The store over `temp` (made if missing) for files that end in `directory`. Bodies and
    /// whole files left half-written by a previous run are removed; chunks are kept, to be
    /// resumed.
    pub fn open(
        temp: PathBuf,
        directory: PathBuf,
        permissions: Option<u32>,
        pending: Pending,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(&temp)?;
        remove_files_starting(&temp, INCOMING_PREFIX)?;
        remove_files_starting(&directory, PART_PREFIX)?;
        Ok(ChunkStore {
            temp,
            directory,
            permissions,
            pending,
            assembling: Mutex::new(HashSet::new()),
        })
    }

    /// A new file in the temp directory for a chunk's bytes.
    pub async fn incoming(&self) -> io::Result<Incoming> {
        let path = self
            .temp
            .join(format!("{INCOMING_PREFIX}{:016x}", random_id()));
        let file = tokio::fs::File::create_new(&path).await?;
        Ok(Incoming {
            path,
            file: Some(file),
            written: 0,
        })
    }

    fn folder(&self, name: &str) -> PathBuf {
        self.temp.join(name)
    }

    fn chunk_path(folder: &Path, number: u64) -> PathBuf {
        folder.join(format!("chunk_{number}"))
    }

    /// Whether chunk `number` of `name` (a checked name) is here.
    pub async fn has_chunk(&self, name: &str, number: u64) -> bool {
        let path = Self::chunk_path(&self.folder(name), number);
        tokio::fs::metadata(path)
            .await
            .is_ok_and(|meta| meta.is_file())
    }

    /// Keeps `incoming` as chunk `number` of `name` (replacing one sent before). True when it
    /// is the first chunk of this upload. A new upload first drops the abandoned ones, then
    /// needs a place under `max_pending_uploads`.
    pub async fn put(
        &self,
        name: &str,
        number: u64,
        mut incoming: Incoming,
    ) -> Result<bool, PutError> {
        if let Some(mut file) = incoming.file.take() {
            file.flush().await?;
        }
        let folder = self.folder(name);
        if !tokio::fs::try_exists(&folder).await? {
            let pending = self.drop_abandoned().await?;
            if pending >= self.pending.max {
                return Err(PutError::TooManyPending(self.pending.max));
            }
        }
        let first = match tokio::fs::create_dir(&folder).await {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(e.into()),
        };
        // Within the temp directory: a rename, so a chunk is there whole or not at all.
        tokio::fs::rename(&incoming.path, Self::chunk_path(&folder, number)).await?;
        incoming.path = PathBuf::new();
        Ok(first)
    }

    /// Removes the chunk folders that got no chunk for `pending.timeout`; returns how many
    /// are left. (Two new uploads at the same moment may both pass the count: the bound is
    /// kept up to the requests in flight.)
    async fn drop_abandoned(&self) -> io::Result<usize> {
        let mut left = 0;
        let mut entries = tokio::fs::read_dir(&self.temp).await?;
        while let Some(entry) = entries.next_entry().await? {
            let meta = entry.metadata().await?;
            if !meta.is_dir() {
                continue;
            }
            let idle = meta
                .modified()
                .ok()
                .and_then(|at| at.elapsed().ok())
                .unwrap_or_default();
            if idle >= self.pending.timeout {
                let _ = tokio::fs::remove_dir_all(entry.path()).await;
            } else {
                left += 1;
            }
        }
        Ok(left)
    }

    /// How many of chunks 1..=`total_chunks` of `name` are here, and their bytes.
    pub async fn received(&self, name: &str, total_chunks: u64) -> io::Result<(u64, u64)> {
        let mut entries = tokio::fs::read_dir(self.folder(name)).await?;
        let (mut count, mut bytes) = (0, 0);
        while let Some(entry) = entries.next_entry().await? {
            let file_name = entry.file_name();
            let number = file_name
                .to_str()
                .and_then(|n| n.strip_prefix("chunk_"))
                .and_then(|n| n.parse::<u64>().ok());
            if number.is_some_and(|n| (1..=total_chunks).contains(&n)) {
                count += 1;
                bytes += entry.metadata().await?.len();
            }
        }
        Ok((count, bytes))
    }

    /// Joins chunks 1..=`total_chunks` of `name` into `directory/name` (replacing a file of
    /// that name) and drops the chunks. `Ok(false)` when another request is doing it now.
    pub async fn assemble(
        &self,
        name: &str,
        total_chunks: u64,
        total_size: u64,
    ) -> Result<bool, AssembleError> {
        if !self.assembling.lock().insert(name.to_owned()) {
            return Ok(false);
        }
        // Released however this ends, a request dropped halfway (its client gone) included.
        let _claim = Claim {
            set: &self.assembling,
            name,
        };
        self.assemble_claimed(name, total_chunks, total_size)
            .await
            .map(|()| true)
    }

    async fn assemble_claimed(
        &self,
        name: &str,
        total_chunks: u64,
        total_size: u64,
    ) -> Result<(), AssembleError> {
        let folder = self.folder(name);
        // Written beside its final place, then renamed: a watcher of the directory never sees
        // half a file.
        let part = self
            .directory
            .join(format!("{PART_PREFIX}{:016x}", random_id()));
        let written = self.join_chunks(&folder, total_chunks, &part).await;
        let received = match written {
            Ok(received) => received,
            Err(e) => {
                let _ = tokio::fs::remove_file(&part).await;
                return Err(e.into());
            }
        };
        if received != total_size {
            let _ = tokio::fs::remove_file(&part).await;
            let _ = tokio::fs::remove_dir_all(&folder).await;
            return Err(AssembleError::Size {
                received,
                total: total_size,
            });
        }
        if let Err(e) = tokio::fs::rename(&part, self.directory.join(name)).await {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(e.into());
        }
        tokio::fs::remove_dir_all(&folder).await?;
        Ok(())
    }

    /// Writes the chunks in order into `part`; returns the bytes written.
    async fn join_chunks(&self, folder: &Path, total_chunks: u64, part: &Path) -> io::Result<u64> {
        let mut out = tokio::fs::File::create_new(part).await?;
        let mut received = 0;
        for number in 1..=total_chunks {
            let mut chunk = tokio::fs::File::open(Self::chunk_path(folder, number)).await?;
            received += tokio::io::copy(&mut chunk, &mut out).await?;
        }
        out.flush().await?;
        if let Some(mode) = self.permissions {
            use std::os::unix::fs::PermissionsExt;
            tokio::fs::set_permissions(part, std::fs::Permissions::from_mode(mode)).await?;
        }
        Ok(received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_pass() {
        for good in ["report.csv", "a b.txt", "ünïcode.pdf", "x"] {
            assert_eq!(check_file_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "..",
            ".",
            "../x",
            "a/b",
            "a\\b",
            "/etc/passwd",
            ".hidden",
            "a\nb",
            "a\0b",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_file_name(&"a".repeat(256)).is_err());
    }
}
