use cloudcast_core::error::CoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TranscodeError {
    /// The input is not something we can turn into audio; shown to the DJ.
    #[error("{0}")]
    BadInput(String),
    #[error("transcoding took longer than the limit of {0} s")]
    Timeout(u64),
    #[error("the job was cancelled")]
    Cancelled,
    #[error("GStreamer failed: {0}")]
    Gstreamer(String),
    #[error("could not index the encoded file: {0}")]
    Index(#[from] crate::index::IndexError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("i/o failed: {0}")]
    Io(#[from] std::io::Error),
}

impl TranscodeError {
    /// Retrying cannot help a file that is not audio.
    pub fn is_permanent(&self) -> bool {
        matches!(self, TranscodeError::BadInput(_))
    }
}
