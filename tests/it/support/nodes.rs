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

/// A real nginx (Debian's) configured as `infra/cluster.sh` configures it:
/// one listening port in front of each set of node ports in `sites`
/// (returned in order). One process (no master and workers), so the kill
/// that ends the test leaves none behind.
pub fn nginx_in_front_of(dir: &std::path::Path, sites: &[&[u16]]) -> (Node, Vec<u16>) {
    let d = dir.display();
    let mut ports = Vec::new();
    let mut blocks = String::new();
    for (n, nodes) in sites.iter().enumerate() {
        let port = free_port();
        ports.push(port);
        let servers: String = nodes
            .iter()
            .map(|p| format!("server 127.0.0.1:{p} max_fails=1 fail_timeout=5s; "))
            .collect();
        blocks.push_str(&format!(
            "upstream app{n} {{ {servers} }}
             server {{ listen 127.0.0.1:{port};
               proxy_http_version 1.1; proxy_set_header Host $http_host;
               proxy_set_header Connection \"\";
               proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
               proxy_next_upstream error timeout http_502 http_503;
               proxy_connect_timeout 2s;
               location /api/v1/me/notifications/stream {{ proxy_pass http://app{n};
                 proxy_buffering off; proxy_read_timeout 1h; }}
               location / {{ proxy_pass http://app{n}; proxy_request_buffering off; }} }}\n"
        ));
    }
    let conf = format!(
        "daemon off; master_process off; pid {d}/nginx.pid; error_log {d}/nginx.log warn;
         {user}
         events {{ worker_connections 256; }}
         http {{ access_log off; client_max_body_size 0;
           client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;
           fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
           {blocks} }}",
        user = if is_root() { "user root;" } else { "" },
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).expect("nginx.conf");
    let mut cmd = Command::new("nginx");
    cmd.arg("-c").arg(&path);
    (Node::spawn(cmd), ports)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
