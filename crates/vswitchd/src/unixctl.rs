//! The control socket of `ovs-appctl` (lib/unixctl.c's protocol).
//!
//! One JSON-RPC request per connection (the client may send more; each is
//! answered): `{"id":0,"method":"fdb/show","params":["br0"]}`. Success is
//! `{"id":0,"result":"<text>","error":null}`, failure
//! `{"id":0,"result":null,"error":"<text>"}` — both strings, printed verbatim
//! by the client. Argument counts are checked against each command's
//! declared range before its handler runs, with OVS's messages.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ovsdb::jsonrpc::Framer;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// A command handler: arguments → reply text or error text.
pub type Handler = Box<dyn Fn(&[String]) -> Result<String, String> + Send + Sync>;

struct Command {
    usage: String,
    min_args: usize,
    max_args: usize,
    handler: Handler,
}

/// The set of commands a daemon answers.
#[derive(Default)]
pub struct Commands {
    commands: BTreeMap<String, Command>,
}

impl Commands {
    /// An empty registry with `list-commands` built in.
    pub fn new() -> Commands {
        Commands::default()
    }

    /// Registers `name` taking `min_args..=max_args` arguments.
    pub fn register(
        &mut self,
        name: &str,
        usage: &str,
        min_args: usize,
        max_args: usize,
        handler: Handler,
    ) {
        self.commands.insert(
            name.to_string(),
            Command {
                usage: usage.to_string(),
                min_args,
                max_args,
                handler,
            },
        );
    }

    /// Registers the two commands every Open vSwitch daemon has:
    /// `version` (answers "PROGRAM (oxvs) VERSION") and `exit` (taking
    /// `exit_usage` arguments, at most `exit_max`; sends on `exit_tx`).
    pub fn register_version_and_exit(
        &mut self,
        program: &'static str,
        exit_usage: &str,
        exit_max: usize,
        exit_tx: tokio::sync::mpsc::UnboundedSender<()>,
    ) {
        self.register(
            "version",
            "",
            0,
            0,
            Box::new(move |_| Ok(format!("{program} (oxvs) {}\n", env!("CARGO_PKG_VERSION")))),
        );
        self.register(
            "exit",
            exit_usage,
            0,
            exit_max,
            Box::new(move |_| {
                let _ = exit_tx.send(());
                Ok(String::new())
            }),
        );
    }

    fn list(&self) -> String {
        let mut out = String::from("The available commands are:\n");
        let mut names: Vec<(&str, &str)> = self
            .commands
            .iter()
            .map(|(n, c)| (n.as_str(), c.usage.as_str()))
            .collect();
        names.push(("list-commands", ""));
        names.sort();
        for (name, usage) in names {
            out.push_str(&format!("  {name:<23} {usage}\n"));
        }
        out
    }

    /// Runs one command as the server would: `Ok(result)` or `Err(error)`.
    pub fn run(&self, method: &str, args: &[String]) -> Result<String, String> {
        if method == "list-commands" {
            if !args.is_empty() {
                return Err("\"list-commands\" command takes at most 0 arguments\n".into());
            }
            return Ok(self.list());
        }
        let Some(cmd) = self.commands.get(method) else {
            return Err(format!(
                "\"{method}\" is not a valid command (use \"list-commands\" to see a list of valid commands)\n"
            ));
        };
        if args.len() < cmd.min_args {
            return Err(format!(
                "\"{method}\" command requires at least {} arguments\n",
                cmd.min_args
            ));
        }
        if args.len() > cmd.max_args {
            return Err(format!(
                "\"{method}\" command takes at most {} arguments\n",
                cmd.max_args
            ));
        }
        (cmd.handler)(args)
    }

    /// Answers one parsed JSON-RPC request.
    pub fn answer(&self, request: &Value) -> Value {
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let Some(method) = request.get("method").and_then(Value::as_str) else {
            return json!({"id": id, "result": null, "error": "request has no method\n"});
        };
        let args: Option<Vec<String>> = match request.get("params") {
            Some(Value::Array(a)) => a.iter().map(|v| v.as_str().map(String::from)).collect(),
            None => Some(Vec::new()),
            _ => None,
        };
        let Some(args) = args else {
            return json!({"id": id, "result": null, "error": "\"params\" must be JSON array of strings\n"});
        };
        match self.run(method, &args) {
            Ok(text) => json!({"id": id, "result": text, "error": null}),
            Err(text) => json!({"id": id, "result": null, "error": text}),
        }
    }
}

/// Serves `commands` on a unix socket at `path` until the task is dropped.
pub async fn serve(path: &Path, commands: Arc<Commands>) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    loop {
        let (stream, _) = listener.accept().await?;
        let commands = commands.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_conn(stream, commands).await {
                tracing::debug!("unixctl connection: {e}");
            }
        });
    }
}

async fn serve_conn(mut stream: UnixStream, commands: Arc<Commands>) -> std::io::Result<()> {
    let mut framer = Framer::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        let requests = framer
            .feed(&chunk[..n])
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        for request in requests {
            // Handlers may touch the datapath or take locks: keep them off
            // the async workers.
            let commands = commands.clone();
            let reply = tokio::task::spawn_blocking(move || commands.answer(&request))
                .await
                .map_err(std::io::Error::other)?;
            stream.write_all(reply.to_string().as_bytes()).await?;
        }
    }
}

/// Sends one command to the daemon at `socket` and returns its reply:
/// `Ok(result text)` or `Err(error text)`.
///
/// Errors (outer): the connection or the reply failed.
pub async fn call(
    socket: &Path,
    method: &str,
    args: &[String],
) -> std::io::Result<Result<String, String>> {
    let mut stream = UnixStream::connect(socket).await?;
    let request = json!({"id": 0, "method": method, "params": args});
    stream.write_all(request.to_string().as_bytes()).await?;
    let mut framer = Framer::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before reply",
            ));
        }
        let values = framer
            .feed(&chunk[..n])
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        if let Some(reply) = values.into_iter().next() {
            return match (reply.get("error"), reply.get("result")) {
                (Some(Value::String(e)), _) => Ok(Err(e.clone())),
                (_, Some(Value::String(r))) => Ok(Ok(r.clone())),
                _ => Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "transaction error",
                )),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands() -> Commands {
        let mut c = Commands::new();
        c.register("version", "", 0, 0, Box::new(|_| Ok("v\n".into())));
        c.register(
            "fdb/show",
            "bridge",
            1,
            1,
            Box::new(|a| Ok(format!("{}\n", a[0]))),
        );
        c
    }

    #[test]
    fn argument_counts_use_ovs_messages() {
        let c = commands();
        assert_eq!(
            c.run("fdb/show", &[]).unwrap_err(),
            "\"fdb/show\" command requires at least 1 arguments\n"
        );
        assert_eq!(
            c.run("version", &["x".into()]).unwrap_err(),
            "\"version\" command takes at most 0 arguments\n"
        );
        assert_eq!(
            c.run("nosuch/command", &[]).unwrap_err(),
            "\"nosuch/command\" is not a valid command (use \"list-commands\" to see a list of valid commands)\n"
        );
        assert_eq!(c.run("fdb/show", &["br0".into()]).unwrap(), "br0\n");
    }

    #[test]
    fn list_commands_is_sorted_and_padded() {
        let text = commands().run("list-commands", &[]).unwrap();
        assert_eq!(
            text,
            "The available commands are:\n  fdb/show                bridge\n  list-commands           \n  version                 \n"
        );
    }

    #[test]
    fn bad_params_get_an_error_reply() {
        let reply = commands().answer(&json!({"id": 7, "method": "version", "params": [1]}));
        assert_eq!(reply["id"], 7);
        assert!(reply["error"].is_string());
    }
}
