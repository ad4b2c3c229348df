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
///
/// Idea: a message arrives in many reads (a 1,000-port `ovs-vsctl`
/// transaction is ~1 MB). Parsing the whole buffer after every read made
/// receiving a message quadratic in its size, so the framer first scans
/// each new byte once, tracking container depth and strings as OVS's
/// incremental JSON parser does, and calls the JSON parser only when a
/// top-level value may be complete.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// How much of `buf` the scanner has looked at.
    scanned: usize,
    /// Open `{`/`[` at `scanned`.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// A top-level value may end within `buf[..scanned]`.
    complete: bool,
}

impl Framer {
    /// A new, empty framer.
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Looks at the bytes not yet scanned; sets `complete` when a
    /// top-level value may have ended.
    fn scan(&mut self) {
        for &b in &self.buf[self.scanned..] {
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => {
                        self.in_string = false;
                        self.complete |= self.depth == 0;
                    }
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    // An unbalanced close is invalid JSON: let the parser
                    // say so.
                    self.depth = self.depth.saturating_sub(1);
                    self.complete |= self.depth == 0;
                }
                // A scalar at top level (not a JSON-RPC message, but
                // valid JSON): the parser decides where it ends.
                _ if self.depth == 0 && !b.is_ascii_whitespace() => self.complete = true,
                _ => {}
            }
        }
        self.scanned = self.buf.len();
    }

    /// Append bytes and return every complete JSON value now available.
    /// Errors: `Error::Json` when the stream is not valid JSON (the stream
    /// cannot be resynchronised afterwards), `Error::Syntax` when a single
    /// message exceeds [`MAX_MESSAGE`].
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Value>, Error> {
        self.buf.extend_from_slice(bytes);
        self.scan();
        let mut out = Vec::new();
        if self.complete {
            let mut consumed = 0;
            {
                let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
                loop {
                    match it.next() {
                        // A number running to the end of what has arrived
                        // may go on in the next read.
                        Some(Ok(v)) if v.is_number() && it.byte_offset() == self.buf.len() => break,
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
            self.scanned -= consumed;
            // What is left is one partial value (or whitespace); a scalar
            // left partial at top level is re-tried with the next bytes.
            self.complete = self.depth == 0
                && !self.in_string
                && self.buf.iter().any(|b| !b.is_ascii_whitespace());
        }
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
    fn byte_by_byte_with_strings_escapes_and_scalars() {
        let text = br#"{"a":"x\"}]","b":[1,{"c":"\\"}]} ["]"] "s{" 42 {"d":null}"#;
        let whole: Vec<Value> = serde_json::Deserializer::from_slice(text)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut f = Framer::new();
        let mut got = Vec::new();
        for b in text {
            got.extend(f.feed(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(got, whole);
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn a_large_message_in_small_reads_is_parsed_once_complete() {
        let big =
            serde_json::to_vec(&json!({"id": 7, "params": vec!["0123456789"; 50_000]})).unwrap();
        let mut f = Framer::new();
        let mut got = Vec::new();
        for chunk in big.chunks(4096) {
            assert!(got.is_empty(), "a value before its last byte arrived");
            got.extend(f.feed(chunk).unwrap());
        }
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["params"].as_array().unwrap().len(), 50_000);
    }

    #[test]
    fn garbage_is_an_error() {
        let mut f = Framer::new();
        assert!(f.feed(b"{\"id\":1}xyz").is_err());
    }
}
