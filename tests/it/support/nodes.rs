//! `cloudcast` child processes and the ports they listen on.

use std::process::Child;
use std::process::Command;
use std::time::Duration;

/// A `cloudcast` child process, killed with SIGKILL when dropped so a
/// failing test leaves nothing behind.
pub struct Node(pub Child);

impl Node {
    pub fn spawn(mut cmd: Command) -> Node {
        Node(cmd.spawn().expect("spawn cloudcast"))
    }

    pub fn kill_9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Waits (bounded) until something listens on loopback `port`.
pub async fn wait_for_port(port: u16) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "port {port} never opened"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
