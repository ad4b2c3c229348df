//! JSON-RPC 1.0 framing as Open vSwitch uses it (RFC 7047 §4): bare JSON
//! objects concatenated on a byte stream, with no length prefix or separator.
//!
//! Idea: bytes are appended to a buffer and complete values are cut off the
//! front with serde_json's streaming deserializer; an incomplete value at the
//! end stays in the buffer until more bytes arrive, so message boundaries
//! never have to match `read()` boundaries. Invariant: the buffer never holds
//! a complete value after `feed` returns. A message larger than
//! [`MAX_MESSAGE`] is a protocol error (protects memory).

use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::Error;

/// Largest accepted message, in bytes (64 MiB).
pub const MAX_MESSAGE: usize = 64 << 20;

/// Incremental splitter of a byte stream into JSON values.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    /// A new, empty framer.
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Append bytes and return every complete JSON value now available.
    /// Errors: `Error::Json` when the stream is not valid JSON (the stream
    /// cannot be resynchronised afterwards), `Error::Syntax` when a single
    /// message exceeds [`MAX_MESSAGE`].
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Value>, Error> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut consumed = 0;
        {
            let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
            loop {
                match it.next() {
                    Some(Ok(v)) => {
                        out.push(v);
                        consumed = it.byte_offset();
                    }
                    Some(Err(e)) if e.is_eof() => break,
                    Some(Err(e)) => return Err(Error::Json(e)),
                    None => {
                        consumed = it.byte_offset();
                        break;
                    }
                }
            }
        }
        self.buf.drain(..consumed);
        if self.buf.len() > MAX_MESSAGE {
            return Err(Error::Syntax(format!(
                "message exceeds {MAX_MESSAGE} bytes"
            )));
        }
        Ok(out)
    }

    /// Bytes buffered but not yet forming a complete value.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// Read side of a JSON-RPC connection.
pub struct MessageReader<R> {
    reader: R,
    framer: Framer,
    queue: std::collections::VecDeque<Value>,
    chunk: Vec<u8>,
}

impl<R: AsyncRead + Unpin> MessageReader<R> {
    /// Wrap a byte stream.
    pub fn new(reader: R) -> Self {
        MessageReader {
            reader,
            framer: Framer::new(),
            queue: Default::default(),
            chunk: vec![0; 16384],
        }
    }

    /// The next message; `Ok(None)` at a clean end of stream.
    /// Errors: I/O errors, invalid JSON, end of stream inside a message.
    pub async fn next(&mut self) -> Result<Option<Value>, Error> {
        loop {
            if let Some(v) = self.queue.pop_front() {
                return Ok(Some(v));
            }
            let n = self.reader.read(&mut self.chunk).await?;
            if n == 0 {
                if self.framer.buf.iter().all(|b| b.is_ascii_whitespace()) {
                    return Ok(None);
                }
                return Err(Error::Syntax(
                    "unexpected end of stream inside a message".into(),
                ));
            }
            let vals = self.framer.feed(&self.chunk[..n])?;
            self.queue.extend(vals);
        }
    }
}

/// Serialise and write one message.
pub async fn write_message<W: AsyncWrite + Unpin>(w: &mut W, v: &Value) -> Result<(), Error> {
    let bytes = serde_json::to_vec(v)?;
    w.write_all(&bytes).await?;
    w.flush().await?;
    Ok(())
}

/// A reply `{"id":id,"result":result,"error":null}` (the shape ovsdb-server sends).
/// `v` as compact JSON text with every object's members in name order, as
/// ovsdb-server writes the `syntax` member of its errors (JSSF_SORT).
pub fn to_string_sorted(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sort(&m[k]))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

pub fn reply(id: &Value, result: Value) -> Value {
    json!({"id": id, "result": result, "error": null})
}

/// An error reply `{"id":id,"error":error}` (ovsdb-server omits `result`).
pub fn error_reply(id: &Value, error: Value) -> Value {
    json!({"id": id, "error": error})
}

/// A request `{"id":id,"method":m,"params":p}`.
pub fn request(id: Value, method: &str, params: Value) -> Value {
    json!({"id": id, "method": method, "params": params})
}

/// A notification `{"id":null,"method":m,"params":p}`.
pub fn notification(method: &str, params: Value) -> Value {
    json!({"id": null, "method": method, "params": params})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_across_reads() {
        let text = br#"{"id":1,"method":"echo","params":[]}{"id":2,"method":"x","params":["}{"]} {"id":3}"#;
        for cut in 0..text.len() {
            let mut f = Framer::new();
            let mut got = f.feed(&text[..cut]).unwrap();
            got.extend(f.feed(&text[cut..]).unwrap());
            assert_eq!(got.len(), 3, "cut at {cut}");
            assert_eq!(got[1]["params"][0], "}{");
            assert_eq!(f.pending(), 0);
        }
    }

    #[test]
    fn garbage_is_an_error() {
        let mut f = Framer::new();
        assert!(f.feed(b"{\"id\":1}xyz").is_err());
    }
}
