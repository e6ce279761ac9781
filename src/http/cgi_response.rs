//! What a CGI script printed, as an HTTP response (RFC 3875 section 6): header lines (LF or
//! CRLF, parsed by `httparse`), a blank line, the body. `Status` sets the status, `Location`
//! without `Status` redirects (302), other fields pass through except the ones the server
//! owns (`Content-Length`, `Connection`, `Transfer-Encoding`). Output with none of
//! `Content-Type`, `Location` and `Status` is not a CGI response.

use bytes::Bytes;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};

use crate::http::response::{self, HttpResponse};

/// Header fields a script may write at most: beyond that the output is refused.
const MAX_FIELDS: usize = 100;

/// The response `output` describes, or why it is not a CGI response.
pub fn parse(output: &[u8]) -> Result<HttpResponse, String> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let (body_start, fields) = match httparse::parse_headers(output, &mut fields) {
        Ok(httparse::Status::Complete((at, fields))) => (at, fields),
        Ok(httparse::Status::Partial) => {
            return Err("the script's output ends before the blank line after its headers".into());
        }
        Err(e) => return Err(format!("the script's headers do not parse: {e}")),
    };
    let mut answer = Response::new(response::full(Bytes::copy_from_slice(
        &output[body_start..],
    )));
    let mut status = None;
    let mut location = false;
    let mut content_type = false;
    for field in fields.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| format!("\"{}\" is not a header name", field.name))?;
        let value = HeaderValue::from_bytes(field.value)
            .map_err(|_| format!("the value of {name} is not a header value"))?;
        if name.as_str() == "status" {
            status = Some(parse_status(&value)?);
            continue;
        }
        if name == header::CONTENT_LENGTH
            || name == header::CONNECTION
            || name == header::TRANSFER_ENCODING
        {
            continue;
        }
        location |= name == header::LOCATION;
        content_type |= name == header::CONTENT_TYPE;
        answer.headers_mut().append(name, value);
    }
    if status.is_none() && !location && !content_type {
        return Err("the script's output has no Content-Type, Location or Status header".into());
    }
    *answer.status_mut() = match status {
        Some(status) => status,
        None if location => StatusCode::FOUND,
        None => StatusCode::OK,
    };
    Ok(answer)
}

/// `Status: 404 Not Found` (the reason phrase is optional).
fn parse_status(value: &HeaderValue) -> Result<StatusCode, String> {
    let text = value.to_str().unwrap_or("");
    let code = text.split_whitespace().next().unwrap_or("");
    code.parse::<u16>()
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .filter(|status| status.as_u16() >= 200)
        .ok_or_else(|| {
            format!("\"Status: {text}\" is not a status (e.g. \"Status: 404 Not Found\")")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_status_location_and_body() {
        let ok = parse(b"Content-Type: text/plain\nX-One: 1\n\nhello\n").unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["content-type"], "text/plain");
        assert_eq!(ok.headers()["x-one"], "1");

        let missing =
            parse(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno").unwrap();
        assert_eq!(missing.status(), 404);
        assert!(missing.headers().get("status").is_none());

        let moved = parse(b"Location: https://example.com/\n\n").unwrap();
        assert_eq!(moved.status(), 302);
        assert_eq!(moved.headers()["location"], "https://example.com/");

        let owned = parse(b"Content-Type: text/plain\nContent-Length: 99\n\nx").unwrap();
        assert!(owned.headers().get("content-length").is_none());
    }

    #[test]
    fn output_that_is_not_a_cgi_response() {
        assert!(
            parse(b"Content-Type: text/plain\n")
                .unwrap_err()
                .contains("ends before")
        );
        assert!(parse(b"hello world").unwrap_err().contains("do not parse"));
        assert!(
            parse(b"X-Only: 1\n\n")
                .unwrap_err()
                .contains("no Content-Type")
        );
        assert!(
            parse(b"Status: abc\n\n")
                .unwrap_err()
                .contains("is not a status")
        );
        assert!(
            parse(b"Status: 99\n\n")
                .unwrap_err()
                .contains("is not a status")
        );
        assert!(
            parse(b"bad header\n\n")
                .unwrap_err()
                .contains("do not parse")
        );
    }
}
