//! The real `listener audiohook` process on a loopback port, for tests from outside; killed when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Audiohook {
    pub child: Child,
    pub port: u16,
}

impl Audiohook {
    /// Starts `binary` serving AudioHook on a free loopback port, its data in `data_dir`, accepting the
    /// credentials `key` and `secret_b64`, forwarding to `ingest`, with `env` on top (and no DynamoDB
    /// table, whatever the caller's environment says); returns once it answers `/healthz`.
    pub async fn start(
        binary: &str,
        data_dir: &Path,
        (key, secret_b64): (&str, &str),
        ingest: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(binary)
            .args(["audiohook", "--host", "127.0.0.1", "--port", &port.to_string(), "--log-level", "warn"])
            .env("DATA_DIR", data_dir)
            .env("GENESYS_AUDIOHOOK_API_KEY", key)
            .env("GENESYS_AUDIOHOOK_CLIENT_SECRET", secret_b64)
            .env("REALTIME_INGEST_URL", ingest)
            .envs(env.iter().copied())
            .env_remove("TABLE_NAME")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let running = Self { child, port };
        super::wait_healthy(port).await;
        running
    }
}

impl Audiohook {
    /// CPU seconds (user and system) the process has used so far (Linux `/proc`).
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let fields: Vec<&str> = stat.rsplit_once(") ").map_or("", |(_, rest)| rest).split(' ').collect();
        fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum::<f64>() / 100.0)
    }
}

impl Drop for Audiohook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
