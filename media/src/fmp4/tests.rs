use super::*;
use std::io::Cursor as IoCursor;

const TS: u32 = 44_100;

fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let size = u32::try_from(body.len() + 8).expect("test box fits u32");
    let mut v = size.to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(body);
    v
}

/// Box with a 64-bit `largesize` header (size field == 1).
fn large_bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = 1u32.to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(&(body.len() as u64 + 16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn full(kind: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
    let mut b = ((u32::from(version) << 24) | flags).to_be_bytes().to_vec();
    b.extend_from_slice(body);
    bx(kind, &b)
}

fn u32s(vals: &[u32]) -> Vec<u8> {
    vals.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn ftyp() -> Vec<u8> {
    bx(b"ftyp", b"iso6\0\0\0\0iso6mp41")
}

fn trak(track_id: u32, handler: &[u8; 4], mdhd_version: u8, timescale: u32) -> Vec<u8> {
    let tkhd = full(b"tkhd", 0, 7, &u32s(&[0, 0, track_id, 0, 0]));
    let mdhd_body = if mdhd_version == 1 {
        let mut b = vec![0u8; 16];
        b.extend(u32s(&[timescale, 0, 0, 0]));
        b
    } else {
        u32s(&[0, 0, timescale, 0, 0])
    };
    let mdhd = full(b"mdhd", mdhd_version, 0, &mdhd_body);
    let mut hdlr_body = u32s(&[0]);
    hdlr_body.extend_from_slice(handler);
    hdlr_body.extend(u32s(&[0, 0, 0]));
    hdlr_body.push(0);
    let hdlr = full(b"hdlr", 0, 0, &hdlr_body);
    let mdia = bx(b"mdia", &[mdhd, hdlr].concat());
    bx(b"trak", &[tkhd, mdia].concat())
}

fn moov_with(traks: &[Vec<u8>], trex_duration: u32) -> Vec<u8> {
    let mvhd = full(b"mvhd", 0, 0, &[0u8; 96]);
    let trex = full(b"trex", 0, 0, &u32s(&[1, 1, trex_duration, 0, 0]));
    let mvex = bx(b"mvex", &trex);
    let mut body = mvhd;
    for t in traks {
        body.extend_from_slice(t);
    }
    body.extend(mvex);
    bx(b"moov", &body)
}

fn moov(trex_duration: u32) -> Vec<u8> {
    moov_with(&[trak(1, b"soun", 0, TS)], trex_duration)
}

/// `moof` whose trun carries per-sample durations (and sizes, like GStreamer).
fn moof_per_sample(track_id: u32, durations: &[u32]) -> Vec<u8> {
    let tfhd = full(b"tfhd", 0, 0x02_0000, &u32s(&[track_id]));
    let mut trun_body = u32s(&[durations.len() as u32, 0]);
    for d in durations {
        trun_body.extend(u32s(&[*d, 300]));
    }
    let trun = full(b"trun", 0, 0x301, &trun_body);
    moof_from(&tfhd, &trun)
}

/// `moof` whose trun has only a sample count (no per-sample durations).
fn moof_count_only(tfhd_duration: Option<u32>, count: u32) -> Vec<u8> {
    let tfhd = match tfhd_duration {
        // Also set base_data_offset + sample_description_index so the
        // optional-field skipping is exercised.
        Some(d) => {
            let mut b = u32s(&[1, 0, 0, 1, d]);
            b.extend(u32s(&[0]));
            full(b"tfhd", 0, 0x01 | 0x02 | 0x08 | 0x10, &b)
        }
        None => full(b"tfhd", 0, 0, &u32s(&[1])),
    };
    let trun = full(b"trun", 0, 0x001, &u32s(&[count, 0]));
    moof_from(&tfhd, &trun)
}

fn moof_from(tfhd: &[u8], trun: &[u8]) -> Vec<u8> {
    let mfhd = full(b"mfhd", 0, 0, &u32s(&[1]));
    let tfdt = full(b"tfdt", 1, 0, &[0u8; 8]);
    let traf = bx(b"traf", &[tfhd, &tfdt, trun].concat());
    bx(b"moof", &[mfhd, traf].concat())
}

fn mdat(len: usize) -> Vec<u8> {
    bx(b"mdat", &vec![0xAB; len])
}

fn index(bytes: &[u8]) -> Result<FragmentIndex, IndexError> {
    index_fragmented_mp4(&mut IoCursor::new(bytes))
}

#[test]
fn trun_per_sample_durations() {
    let head = [ftyp(), moov(0)].concat();
    let moof1 = moof_per_sample(1, &[1024, 1024, 1024]);
    let mdat1 = mdat(900);
    let moof2 = moof_per_sample(1, &[1024, 512]);
    let mdat2 = mdat(600);
    let mfra = bx(b"mfra", &[0u8; 8]);
    let file = [
        head.clone(),
        moof1.clone(),
        mdat1.clone(),
        moof2.clone(),
        mdat2.clone(),
        mfra,
    ]
    .concat();
    let idx = index(&file).expect("valid file");
    assert_eq!(idx.init_length, head.len() as u64);
    assert_eq!(idx.timescale, TS);
    assert_eq!(idx.file_size, file.len() as u64);
    assert_eq!(idx.segments.len(), 2);
    let s1 = &idx.segments[0];
    assert_eq!(s1.offset, head.len() as u64);
    assert_eq!(s1.length, (moof1.len() + mdat1.len()) as u64);
    assert_eq!((s1.samples, s1.ticks), (3, 3072));
    assert_eq!(s1.duration_ms, 70); // 3072/44100 s = 69.66 ms
    let s2 = &idx.segments[1];
    assert_eq!(s2.offset, s1.offset + s1.length);
    assert_eq!(s2.length, (moof2.len() + mdat2.len()) as u64);
    assert_eq!((s2.samples, s2.ticks), (2, 1536));
    assert_eq!(idx.duration_ms(), 104); // 4608/44100 s = 104.49 ms
}

#[test]
fn tfhd_default_duration_beats_trex() {
    let file = [
        ftyp(),
        moov(999),
        moof_count_only(Some(1024), 10),
        mdat(100),
    ]
    .concat();
    let idx = index(&file).expect("valid file");
    assert_eq!(idx.segments[0].samples, 10);
    assert_eq!(idx.segments[0].ticks, 10_240);
}

#[test]
fn trex_default_duration() {
    let file = [ftyp(), moov(1024), moof_count_only(None, 7), mdat(100)].concat();
    let idx = index(&file).expect("valid file");
    assert_eq!((idx.segments[0].samples, idx.segments[0].ticks), (7, 7168));
}

#[test]
fn missing_any_duration_is_an_error() {
    // trex duration 0 counts as "present"; use a moov without mvex instead.
    let mvhd = full(b"mvhd", 0, 0, &[0u8; 96]);
    let moov = bx(b"moov", &[mvhd, trak(1, b"soun", 0, TS)].concat());
    let file = [ftyp(), moov, moof_count_only(None, 7), mdat(100)].concat();
    assert!(matches!(
        index(&file),
        Err(IndexError::MissingSampleDuration { .. })
    ));
}

#[test]
fn largesize_and_size_zero_boxes() {
    let head = [ftyp(), moov(0)].concat();
    let moof1 = moof_per_sample(1, &[1024; 4]);
    let mdat1 = large_bx(b"mdat", &[1u8; 500]);
    let moof2 = moof_per_sample(1, &[1024; 2]);
    // size == 0: the last mdat runs to end of file.
    let mut mdat2 = mdat(50);
    mdat2[..4].copy_from_slice(&0u32.to_be_bytes());
    let file = [
        head.clone(),
        moof1.clone(),
        mdat1.clone(),
        moof2.clone(),
        mdat2,
    ]
    .concat();
    let idx = index(&file).expect("valid file");
    assert_eq!(idx.segments.len(), 2);
    assert_eq!(idx.segments[0].length, (moof1.len() + 516) as u64);
    assert_eq!(idx.segments[1].length, (moof2.len() + 58) as u64);
    let last = &idx.segments[1];
    assert_eq!(last.offset + last.length, idx.file_size);
}

#[test]
fn mdhd_version_1_and_non_audio_tracks() {
    // Video track first (id 1), audio second (id 2): the audio trak's
    // timescale is used and the video traf is skipped.
    let moov = moov_with(
        &[trak(1, b"vide", 0, 90_000), trak(2, b"soun", 1, 48_000)],
        0,
    );
    let video = moof_per_sample(1, &[3000; 5]);
    let audio = moof_per_sample(2, &[1024; 3]);
    let mfhd = full(b"mfhd", 0, 0, &u32s(&[1]));
    // A moof containing both trafs: take the traf children of each.
    let traf_of = |m: &[u8]| m[8 + mfhd.len()..].to_vec();
    let moof = bx(
        b"moof",
        &[mfhd.clone(), traf_of(&video), traf_of(&audio)].concat(),
    );
    let file = [ftyp(), moov, moof, mdat(10)].concat();
    let idx = index(&file).expect("valid file");
    assert_eq!(idx.timescale, 48_000);
    assert_eq!((idx.segments[0].samples, idx.segments[0].ticks), (3, 3072));
    assert_eq!(idx.duration_ms(), 64);
}

#[test]
fn truncated_file() {
    let file = [ftyp(), moov(0), moof_per_sample(1, &[1024; 3]), mdat(1000)].concat();
    for cut in [file.len() - 1, file.len() - 1000, 40] {
        let err = index(&file[..cut]).expect_err("truncated");
        assert!(matches!(err, IndexError::Truncated { .. }), "{cut}: {err}");
    }
    // Cut inside a box header.
    let cut = file.len() - 1008 + 3;
    assert!(matches!(
        index(&file[..cut]),
        Err(IndexError::Truncated { .. })
    ));
}

#[test]
fn moof_without_mdat() {
    let moof = moof_per_sample(1, &[1024; 3]);
    let at_end = [ftyp(), moov(0), moof.clone()].concat();
    let err = index(&at_end).expect_err("no mdat");
    assert!(matches!(err, IndexError::MoofWithoutMdat { .. }));
    let twice = [ftyp(), moov(0), moof.clone(), moof, mdat(10)].concat();
    assert!(matches!(
        index(&twice),
        Err(IndexError::MoofWithoutMdat { .. })
    ));
    let mdat_alone = [
        ftyp(),
        moov(0),
        moof_per_sample(1, &[1024]),
        mdat(10),
        mdat(10),
    ]
    .concat();
    assert!(matches!(
        index(&mdat_alone),
        Err(IndexError::MdatWithoutMoof { .. })
    ));
}

#[test]
fn garbage_and_empty_input() {
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let err = index(&garbage).expect_err("garbage");
    assert!(matches!(err, IndexError::MissingFtyp { .. }));
    assert!(err.to_string().contains("not an MP4"), "{err}");
    assert!(matches!(index(&[]), Err(IndexError::MissingFtyp { .. })));
    assert!(matches!(
        index(b"ftyp"),
        Err(IndexError::MissingFtyp { .. })
    ));
}

#[test]
fn structural_errors() {
    // Plain MP4: moov + mdat, no fragments.
    let plain = [ftyp(), moov(0), mdat(100)].concat();
    assert!(matches!(index(&plain), Err(IndexError::NotFragmented)));
    let no_moov = [ftyp(), moof_per_sample(1, &[1024]), mdat(10)].concat();
    assert!(matches!(index(&no_moov), Err(IndexError::MissingMoov)));
    let no_audio = [
        ftyp(),
        moov_with(&[trak(1, b"vide", 0, 90_000)], 0),
        moof_per_sample(1, &[1024]),
        mdat(10),
    ]
    .concat();
    assert!(matches!(index(&no_audio), Err(IndexError::NoAudioTrack)));
    let zero_ts = [
        ftyp(),
        moov_with(&[trak(1, b"soun", 0, 0)], 0),
        moof_per_sample(1, &[1024]),
        mdat(10),
    ]
    .concat();
    assert!(matches!(index(&zero_ts), Err(IndexError::NoTimescale)));
    // Box size smaller than its own header.
    let mut tiny = ftyp();
    tiny.extend(4u32.to_be_bytes());
    tiny.extend(b"free");
    assert!(matches!(
        index(&tiny),
        Err(IndexError::InvalidBoxSize { .. })
    ));
}

#[test]
fn bogus_trun_sample_count_is_malformed() {
    let tfhd = full(b"tfhd", 0, 0, &u32s(&[1]));
    let trun = full(b"trun", 0, 0x300, &u32s(&[u32::MAX, 1024, 10]));
    let file = [ftyp(), moov(0), moof_from(&tfhd, &trun), mdat(10)].concat();
    let err = index(&file).expect_err("bogus count");
    assert!(matches!(err, IndexError::Malformed { .. }), "{err}");
    // A child box overrunning its parent.
    let mut bad_moof = moof_per_sample(1, &[1024]);
    bad_moof[8..12].copy_from_slice(&1000u32.to_be_bytes());
    let file = [ftyp(), moov(0), bad_moof, mdat(10)].concat();
    assert!(matches!(index(&file), Err(IndexError::Malformed { .. })));
}

#[test]
fn bandwidth_and_durations() {
    let idx = FragmentIndex {
        init_length: 100,
        timescale: 1000,
        segments: vec![
            Segment {
                offset: 100,
                length: 6000,
                duration_ms: 6000,
                samples: 1,
                ticks: 6000,
            },
            Segment {
                offset: 6100,
                length: 3000,
                duration_ms: 2000,
                samples: 1,
                ticks: 2000,
            },
            Segment {
                offset: 9100,
                length: 77,
                duration_ms: 0,
                samples: 0,
                ticks: 0,
            },
        ],
        file_size: 9177,
        ..FragmentIndex::default()
    };
    assert_eq!(idx.duration_ms(), 8000);
    // 6000*8/6 = 8000; 3000*8/2 = 12000; zero-duration segment ignored.
    assert_eq!(idx.peak_bandwidth(), 12_000);
    assert_eq!(idx.average_bandwidth(), (9077 * 8 * 1000 + 4000) / 8000);
    assert!((idx.max_segment_duration_secs() - 6.0).abs() < 1e-9);

    let empty = FragmentIndex {
        init_length: 0,
        timescale: 0,
        segments: vec![],
        file_size: 0,
        ..FragmentIndex::default()
    };
    assert_eq!(empty.duration_ms(), 0);
    assert_eq!(empty.peak_bandwidth(), 0);
    assert_eq!(empty.average_bandwidth(), 0);
    assert_eq!(empty.max_segment_duration_secs(), 0.0);
}

#[test]
fn a_segment_index_is_added_before_the_fragments() {
    let head = [ftyp(), moov(0)].concat();
    let tfdt_at = |t: u64| full(b"tfdt", 1, 0, &t.to_be_bytes());
    let frag = |t: u64, durations: &[u32], payload: usize| {
        let tfhd = full(b"tfhd", 0, 0x02_0000, &u32s(&[1]));
        let mut trun_body = u32s(&[durations.len() as u32, 0]);
        for d in durations {
            trun_body.extend(u32s(&[*d, 300]));
        }
        let trun = full(b"trun", 0, 0x301, &trun_body);
        let mfhd = full(b"mfhd", 0, 0, &u32s(&[1]));
        let traf = bx(b"traf", &[tfhd, tfdt_at(t), trun].concat());
        [bx(b"moof", &[mfhd, traf].concat()), mdat(payload)].concat()
    };
    let f1 = frag(2048, &[1024, 1024], 700);
    let f2 = frag(4096, &[1024], 300);
    let mfra = bx(b"mfra", &[0u8; 8]);
    let file = [head.clone(), f1.clone(), f2.clone(), mfra].concat();
    let before = index(&file).expect("valid file");
    assert!(!before.sidx);
    assert_eq!(before.first_decode_time, 2048);
    assert_eq!(before.track_id, 1);

    let mut out = Vec::new();
    let written = add_sidx(&mut IoCursor::new(&file), &mut out).expect("rewritten");
    assert_eq!(written, out.len() as u64);
    let after = index(&out).expect("still a valid file");
    assert!(after.sidx);
    let sidx_len = 40 + 12 * 2;
    // The init is unchanged, the fragments follow the index, the mfra is gone.
    assert_eq!(&out[..head.len()], &head[..]);
    assert_eq!(out.len(), head.len() + sidx_len + f1.len() + f2.len());
    assert_eq!(after.segments[0].offset, (head.len() + sidx_len) as u64);
    let lengths = |i: &FragmentIndex| {
        i.segments
            .iter()
            .map(|s| (s.length, s.ticks))
            .collect::<Vec<_>>()
    };
    assert_eq!(lengths(&after), lengths(&before));
    // The index names each fragment's size and duration, SAP at its start.
    let b = &out[head.len()..head.len() + sidx_len];
    assert_eq!(&b[4..8], b"sidx");
    let u32_at = |o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    assert_eq!(u32_at(16), TS);
    assert_eq!(
        u64::from_be_bytes(b[20..28].try_into().expect("8 bytes")),
        2048
    );
    assert_eq!(u16::from_be_bytes([b[38], b[39]]), 2);
    assert_eq!(u64::from(u32_at(40)), f1.len() as u64);
    assert_eq!(u32_at(44), 2048);
    assert_eq!(u32_at(48), 0x9000_0000);
    assert_eq!(u64::from(u32_at(52)), f2.len() as u64);
    // Adding it again replaces it: the same bytes.
    let mut again = Vec::new();
    add_sidx(&mut IoCursor::new(&out), &mut again).expect("rewritten again");
    assert_eq!(again, out);

    // Fragments naming absolute offsets are refused rather than broken.
    let absolute = [head, moof_count_only(Some(1024), 2), mdat(10)].concat();
    assert!(matches!(
        add_sidx(&mut IoCursor::new(&absolute), &mut Vec::new()),
        Err(SidxError::AbsoluteOffsets)
    ));
}
