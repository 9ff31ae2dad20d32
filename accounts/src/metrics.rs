//! The accounts' metrics, declared and described here.

pub const MAILS: &str = "cloudcast_mails_total";

/// Registers the descriptions (called once by the binary at start).
pub fn describe() {
    metrics::describe_counter!(
        MAILS,
        "Mails handed to the SMTP relay from the outbox, by outcome (sent, failed: retried up to 10 times)"
    );
}

pub(crate) fn mail(outcome: &'static str) {
    metrics::counter!(MAILS, "outcome" => outcome).increment(1);
}
