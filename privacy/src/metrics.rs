//! The privacy crate's metrics, declared and described here.

use cloudcast_core::states::ErasureReason;

pub const EXPORTS: &str = "cloudcast_exports_total";
pub const ERASURES: &str = "cloudcast_erasures_total";

/// Registers the descriptions (called once by the binary at start).
pub fn describe() {
    metrics::describe_counter!(
        EXPORTS,
        "Data export archives built in the background, by outcome (ready, failed, gone: the account was erased meanwhile)"
    );
    metrics::describe_counter!(ERASURES, "Accounts erased, by reason");
}

pub(crate) fn export(outcome: &'static str) {
    metrics::counter!(EXPORTS, "outcome" => outcome).increment(1);
}

pub(crate) fn erasure(reason: ErasureReason) {
    metrics::counter!(ERASURES, "reason" => reason.as_str()).increment(1);
}
