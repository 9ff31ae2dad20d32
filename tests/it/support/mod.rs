//! What the tests share: the system under test started in-process through
//! `cloudcast::serve` (`system.rs`), `cloudcast` child processes
//! (`nodes.rs`), test media (`media.rs`), an SMTP sink (`smtp.rs`) and the
//! browser drivers (`browser.rs`).

#![allow(dead_code)]

pub mod browser;
pub mod media;
pub mod nodes;
pub mod smtp;
pub mod system;

pub use browser::run_page;
pub use media::{b64, decoded_seconds, make_mp3, noise, noise_wav, tones_wav};
pub use nodes::{Node, free_port, wait_for_port};

pub use system::{BROWSER_UA, PNG_1X1, TestSystem, account_json, call, ch_u64, json_of, terms};
