//! Fetches the archive of an `archive` path whose file is missing and which says
//! `"download": true` with an `origin` (as Crossbar does when the node starts): one GET,
//! redirects followed (GitHub's archive links redirect), at most
//! [`MAX_ARCHIVE_BYTES`](crate::config::MAX_ARCHIVE_BYTES), checked against `hashes` and as a
//! ZIP before it is moved to its place, so a failed download leaves no file behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{Config, MAX_ARCHIVE_BYTES, PathService, open_archive};
use crate::poller::fetch_error::error_chain;

/// The longest a download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// Downloads every missing archive of `config`; the first failure is returned, naming the
/// path, the URL and what went wrong.
pub async fn download_missing(config: &Config) -> Result<(), String> {
    let archives = config
        .workers
        .iter()
        .flat_map(|worker| &worker.transports)
        .flat_map(|transport| {
            let paths = transport.kind.paths().into_iter().flatten();
            paths.map(move |(path, service)| (transport.path.clone(), path, service))
        });
    for (transport, path, service) in archives {
        let PathService::Archive(archive) = service else {
            continue;
        };
        let Some(url) = &archive.download_from else {
            continue;
        };
        if archive.file.exists() {
            continue;
        }
        tracing::info!(%url, file = %archive.file.display(), "downloading an archive");
        download(url, &archive.file, &archive.hashes)
            .await
            .map_err(|e| format!("{transport}.paths.{path}: cannot download {url}: {e}"))?;
    }
    Ok(())
}

async fn download(url: &str, file: &Path, hashes: &[String]) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(DOWNLOAD_TIMEOUT)
        .user_agent(concat!("junction/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot create an HTTP client: {e}"))?;
    let mut response = client.get(url).send().await.map_err(|e| error_chain(&e))?;
    if !response.status().is_success() {
        return Err(format!("the server answered {}", response.status()));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e))? {
        if (bytes.len() + chunk.len()) as u64 > MAX_ARCHIVE_BYTES {
            return Err(format!("larger than {MAX_ARCHIVE_BYTES} bytes"));
        }
        bytes.extend_from_slice(&chunk);
    }
    let partial = partial_name(file);
    tokio::fs::write(&partial, &bytes)
        .await
        .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    let checked = open_archive(&partial, hashes).and_then(|_| {
        std::fs::rename(&partial, file)
            .map_err(|e| format!("cannot move it to {}: {e}", file.display()))
    });
    if checked.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    checked
}

/// `file` with `.part` added: where the download is written until it is checked.
fn partial_name(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}
