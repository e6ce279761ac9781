//! A guest's stdout or stderr as log lines: each line logged with the worker's id, escaped and
//! cut like any outside text (`log_text`), so a program cannot forge log lines or flood the log
//! with one endless line.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

use crate::log_text::peer_text;

/// The most bytes of one line held in memory; the rest of a longer line is skipped (the log
/// shows the first `log_text::MAX_CHARS` characters of a line anyway).
const MAX_LINE: usize = 4096;

/// Logs every line read from `pipe` until end of file.
pub async fn log_lines(pipe: impl AsyncRead + Unpin, id: String, stream: &'static str) {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await;
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.last() != Some(&b'\n') && line.len() == MAX_LINE {
            skip_line(&mut reader).await;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        tracing::info!("guest {} {stream}: {}", peer_text(&id), peer_text(text));
    }
}

/// Reads up to the end of the current line, holding at most [`MAX_LINE`] bytes at a time.
async fn skip_line(reader: &mut (impl AsyncBufRead + Unpin)) {
    let mut rest = Vec::new();
    loop {
        rest.clear();
        match (&mut *reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut rest)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) if rest.last() == Some(&b'\n') => return,
            Ok(_) => {}
        }
    }
}
