use cloudcast_core::storage::StorageError;

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
    #[error("the encoder thread failed")]
    Thread(#[source] tokio::task::JoinError),
    #[error("could not index the encoded file")]
    Index(#[from] cloudcast_media::IndexError),
    #[error("could not add the segment index to the encoded file")]
    SeekIndex(#[from] cloudcast_media::SidxError),
    #[error("could not serialise {what}")]
    Serialise {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("database failed")]
    Database(#[from] sqlx::Error),
    #[error("i/o failed")]
    Io(#[from] std::io::Error),
}

impl TranscodeError {
    /// Retrying cannot help a file that is not audio.
    pub fn is_permanent(&self) -> bool {
        // A file whose fragments cannot take a segment index never will.
        matches!(
            self,
            TranscodeError::BadInput(_)
                | TranscodeError::SeekIndex(cloudcast_media::SidxError::AbsoluteOffsets)
        )
    }
}
