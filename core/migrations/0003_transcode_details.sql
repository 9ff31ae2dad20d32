-- Transcode progress, loudness and waveform peaks.

ALTER TABLE transcode_jobs
    ADD COLUMN progress smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100);

ALTER TABLE cloudcasts
    -- EBU R128, measured on the decoded PCM; NULL for silence.
    ADD COLUMN loudness_lufs   double precision,
    ADD COLUMN loudness_range_lu double precision,
    ADD COLUMN true_peak_dbtp  double precision;
