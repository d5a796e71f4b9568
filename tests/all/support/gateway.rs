//! Runs the real `wasmgate` binary on an ephemeral loopback port for one test, and kills
//! it when the test ends.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::machine::{Share, share_machine};

/// How long the gateway may take to compile its modules and start listening.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A running gateway process.
pub struct Gateway {
    _shared: Option<Share>,
    child: Child,
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    stderr: Arc<Mutex<String>>,
    dir: tempfile::TempDir,
}

/// The status of `GET /readyz` on the admin listener, if it answers.
fn readyz_status(admin: SocketAddr) -> Option<u16> {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect_timeout(&admin, Duration::from_secs(5)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: wasmgate\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.get(9..12)?.parse().ok()
}

/// Path of the binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_wasmgate")
}

/// Writes `manifest` to a temporary folder and returns the folder and the file.
pub fn write_manifest(manifest: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("wasmgate.toml");
    std::fs::write(&path, manifest).expect("write manifest");
    (dir, path)
}

impl Gateway {
    /// Starts `wasmgate up` on `manifest` (TOML text), listening on 127.0.0.1:0.
    pub fn start(manifest: &str) -> Gateway {
        Self::start_with_args(manifest, &["--listen", "127.0.0.1:0"])
    }

    /// Starts `wasmgate up MANIFEST --workers 2 --data-dir TEMP/data --admin-listen
    /// 127.0.0.1:0 ARGS…`.
    pub fn start_with_args(manifest: &str, args: &[&str]) -> Gateway {
        let (dir, _) = write_manifest(manifest);
        Self::start_in(dir, args)
    }

    /// Starts the gateway on the manifest and data dir already in `dir` (as left by an
    /// earlier gateway, see [`Gateway::stop_keeping_data`]).
    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Gateway {
        Self::start_in_with_env(dir, args, &[])
    }

    /// [`Gateway::start`] with these environment variables set for the gateway.
    pub fn start_with_env(manifest: &str, env: &[(&str, &str)]) -> Gateway {
        let (dir, _) = write_manifest(manifest);
        Self::start_in_with_env(dir, &["--listen", "127.0.0.1:0"], env)
    }

    /// [`Gateway::start`], returning as soon as the gateway listens: modules of the manifest
    /// may still be compiling (the others start by waiting for `/readyz` to answer 200).
    pub fn start_listening(manifest: &str) -> Gateway {
        let (dir, _) = write_manifest(manifest);
        Self::spawn(dir, &["--listen", "127.0.0.1:0"], &[])
    }

    pub fn start_in_with_env(
        dir: tempfile::TempDir,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Gateway {
        let mut gateway = Self::spawn(dir, args, env);
        gateway.wait_ready();
        gateway
    }

    /// Waits until `/readyz` answers 200: every module of the manifest compiled.
    fn wait_ready(&mut self) {
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        while std::time::Instant::now() < deadline {
            if readyz_status(self.admin_addr) == Some(200) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "wasmgate exited before it was ready ({status}); stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("wasmgate was not ready in time; stderr:\n{}", self.stderr());
    }

    /// Starts `wasmgate COMMAND MANIFEST` (`up` or `dev`) with the data dir in `dir`, and
    /// waits until it is ready.
    pub fn start_command(
        dir: tempfile::TempDir,
        command: &str,
        manifest: &Path,
        args: &[&str],
    ) -> Gateway {
        let mut gateway = Self::spawn_command(dir, command, manifest, args, &[], &[]);
        gateway.wait_ready();
        gateway
    }

    /// [`Gateway::start`], run by `launcher`: a program and its arguments, which are given
    /// the gateway's command line after them (`["prlimit", "--nofile=256:"]`).
    pub fn start_launched_by(manifest: &str, launcher: &[&str]) -> Gateway {
        let (dir, path) = write_manifest(manifest);
        let args = ["--listen", "127.0.0.1:0"];
        let mut gateway = Self::spawn_command(dir, "up", &path, &args, &[], launcher);
        gateway.wait_ready();
        gateway
    }

    fn spawn(dir: tempfile::TempDir, args: &[&str], env: &[(&str, &str)]) -> Gateway {
        let path = dir.path().join("wasmgate.toml");
        Self::spawn_command(dir, "up", &path, args, env, &[])
    }

    fn spawn_command(
        dir: tempfile::TempDir,
        command: &str,
        path: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        launcher: &[&str],
    ) -> Gateway {
        let shared = share_machine();
        let mut child = match launcher {
            [] => Command::new(binary()),
            [program, options @ ..] => {
                let mut launched = Command::new(program);
                launched.args(options).arg(binary());
                launched
            }
        };
        let mut child = child
            .arg(command)
            .arg(path)
            .args([
                "--workers",
                "2",
                "--admin-listen",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(dir.path().join("data"))
            .args(args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wasmgate");

        // Drain stderr continuously so the gateway never blocks on a full pipe.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("stderr lock")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });

        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut admin = None;
            let mut metrics = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("wasmgate admin API on http://") {
                    admin = Some(addr.to_owned());
                }
                if let Some(url) = line.strip_prefix("wasmgate metrics on http://") {
                    metrics = url.strip_suffix("/metrics").map(str::to_owned);
                }
                let listening = line
                    .strip_prefix("wasmgate listening on http://")
                    .or_else(|| line.strip_prefix("wasmgate listening on https://"));
                if let Some(addr) = listening {
                    let _ = tx.send((addr.to_owned(), admin.take(), metrics.take()));
                }
            }
        });
        let (addr, admin_addr, metrics_addr) = match rx.recv_timeout(START_TIMEOUT) {
            Ok((addr, Some(admin), metrics)) => (
                addr.parse().expect("listening address"),
                admin.parse().expect("admin address"),
                metrics.map(|m| m.parse().expect("metrics address")),
            ),
            _ => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "wasmgate did not start (exit: {status:?}); stderr:\n{}",
                    stderr.lock().expect("stderr lock")
                );
            }
        };
        Gateway {
            _shared: shared,
            child,
            addr,
            admin_addr,
            metrics_addr,
            stderr,
            dir,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's resident memory, in KiB (from `/proc`).
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// `http://ADMIN_ADDR{path}`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin_addr)
    }

    /// The `--metrics-listen` address's `/metrics`, when the gateway was given one.
    pub fn metrics_url(&self) -> Option<String> {
        self.metrics_addr
            .map(|addr| format!("http://{addr}/metrics"))
    }

    /// The admin token the gateway generated in its data dir.
    pub fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data_dir().join("admin-token")).expect("admin token file")
    }

    /// The gateway's data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Kills the process (SIGKILL, no clean-up) and returns its folder (manifest and data
    /// dir) for [`Gateway::start_in`].
    pub fn kill_keeping_data(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // An empty placeholder takes the folder's place until `self` is dropped.
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"))
    }

    /// Stops the process with SIGTERM (a clean shutdown) and returns its folder.
    pub fn stop_keeping_data(mut self) -> tempfile::TempDir {
        self.terminate();
        let status = self.wait_exit(Duration::from_secs(30)).expect("clean exit");
        assert!(status.success(), "{status:?}");
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"))
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything the gateway wrote to stderr so far (its log).
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// The first line of the gateway's log that contains `text`, once there is one (up to
    /// 30 s).
    pub fn log_line(&self, text: &str) -> String {
        self.wait_for_log(text);
        let log = self.stderr();
        let line = log.lines().find(|line| line.contains(text));
        line.expect("the line waited for").to_owned()
    }

    /// Waits until the gateway's log contains `text` (up to 30 s).
    pub fn wait_for_log(&self, text: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !self.stderr().contains(text) {
            assert!(
                std::time::Instant::now() < deadline,
                "`{text}` never appeared in the gateway's log:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts that `wasmgate up` with `manifest` refuses `--FLAG value` as out of `range`
/// (clap's usage error, exit status 2), naming the option.
pub fn assert_option_out_of_range(manifest: &str, flag: &str, value: &str, range: &str) {
    let (dir, path) = write_manifest(manifest);
    let manifest = path.to_str().expect("utf-8 path");
    let (status, _, stderr) = run(&["up", manifest, flag, value], dir.path());
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(flag) && stderr.contains(&format!("{value} is not in {range}")),
        "{stderr}"
    );
}

/// Runs `wasmgate` with `args` to completion: (exit status, stdout, stderr). `up` gets a
/// data dir in `cwd` and an ephemeral admin port.
pub fn run(args: &[&str], cwd: &Path) -> (ExitStatus, String, String) {
    let mut args: Vec<&str> = args.to_vec();
    if args.first() == Some(&"up") && !args.contains(&"--help") {
        args.extend(["--admin-listen", "127.0.0.1:0", "--data-dir", "data"]);
    }
    let output = Command::new(binary())
        .args(&args)
        .env_remove("RUST_BACKTRACE")
        .current_dir(cwd)
        .output()
        .expect("run wasmgate");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
