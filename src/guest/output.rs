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
    while let Some((text, cut)) = next_line(&mut reader).await {
        let cut = if cut { " (a longer line, cut)" } else { "" };
        tracing::info!(
            guest = %peer_text(&id),
            "guest {} {stream}: {}{cut}",
            peer_text(&id),
            peer_text(&text)
        );
    }
}

/// The next line (at most [`MAX_LINE`] bytes of it, without its line end) and whether it was
/// longer; `None` at end of file.
async fn next_line(reader: &mut (impl AsyncBufRead + Unpin)) -> Option<(String, bool)> {
    let mut line = Vec::new();
    match (&mut *reader)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)
        .await
    {
        Ok(0) | Err(_) => return None,
        Ok(_) => {}
    }
    let cut = line.last() != Some(&b'\n') && line.len() == MAX_LINE;
    if cut {
        skip_line(reader).await;
    }
    let text = String::from_utf8_lossy(&line);
    Some((text.trim_end_matches(['\n', '\r']).to_string(), cut))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_split_and_long_ones_cut() {
        let long = "x".repeat(3 * MAX_LINE + 10);
        let input = format!("one\r\ntwo\n{long}\nthree\n\u{e9}\u{1b}[31m\nlast without end");
        let mut reader = input.as_bytes();
        let mut lines = Vec::new();
        while let Some(line) = next_line(&mut reader).await {
            lines.push(line);
        }
        assert_eq!(
            lines,
            [
                ("one".to_string(), false),
                ("two".to_string(), false),
                ("x".repeat(MAX_LINE), true),
                ("three".to_string(), false),
                ("\u{e9}\u{1b}[31m".to_string(), false),
                ("last without end".to_string(), false),
            ]
        );
        let invalid: &[u8] = b"\xff\xfe ok\n";
        let mut reader = invalid;
        assert_eq!(
            next_line(&mut reader).await,
            Some(("\u{fffd}\u{fffd} ok".to_string(), false))
        );
    }
}
