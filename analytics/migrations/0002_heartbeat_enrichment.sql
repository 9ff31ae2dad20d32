-- What the stream adds to each beat: the keyed daily IP hash, the parsed
-- user agent (browser family and major version, OS, device class, bot flag)
-- and the ad-personalisation consent in force when the beat arrived.
-- One statement, so it applies whole or not at all.
ALTER TABLE heartbeats
    ADD COLUMN ip_hash       String AFTER ip_prefix,
    ADD COLUMN browser       String AFTER ip_hash,
    ADD COLUMN browser_major String AFTER browser,
    ADD COLUMN os            String AFTER browser_major,
    ADD COLUMN device        String AFTER os,
    ADD COLUMN is_bot        UInt8  AFTER device,
    ADD COLUMN ads_consent   UInt8  AFTER is_bot
