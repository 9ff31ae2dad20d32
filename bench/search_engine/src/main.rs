//! Reads the listed cloudcasts of the generated catalogue as tab-separated
//! rows (id, title, owner, tags, tracklist, description) on stdin, builds
//! an in-memory tantivy index of them, then answers each query of the
//! header's four kinds (one word, two words, a prefix, a typo) REPEAT times,
//! top 21 by BM25 with the fields weighted as `search_doc` weighs them
//! (title and owner, then tags, then tracklist, then description). Prints
//! the build time and p50/p95 per kind in milliseconds as JSON.
//!
//!   search-engine-bench REPEAT < rows.tsv

use std::io::BufRead;
use std::time::Instant;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RegexQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{Index, TantivyDocument, Term, doc};

const WORDS: &[&str] = &[
    "sunset", "warehouse", "techno", "jazz", "voyage", "anthems", "rooftop", "groove", "house", "mix",
];
const PAIRS: &[&str] = &["dub trance", "heat session", "rooftop signal", "club sunrise", "trance electro"];
const PREFIXES: &[&str] = &["ware", "sunr", "frequ", "essen", "balea"];
const TYPOS: &[&str] = &["warehuose", "sesion", "midnigth", "rythm", "classcs"];

struct Fields {
    id: Field,
    /// (field, weight): the weights of `cloudcast_search_doc` (A, A, B, C, D).
    text: Vec<(Field, f32)>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let repeat: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let mut sb = Schema::builder();
    let id = sb.add_text_field("id", STRING | STORED);
    let opts = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("default")
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let names = ["title", "owner", "tags", "tracklist", "description"];
    let weights = [1.0, 1.0, 0.4, 0.2, 0.1];
    let text: Vec<(Field, f32)> = names
        .iter()
        .zip(weights)
        .map(|(n, w)| (sb.add_text_field(n, opts.clone()), w))
        .collect();
    let f = Fields { id, text };
    let index = Index::create_in_ram(sb.build());
    let started = Instant::now();
    let mut writer = index.writer(256_000_000)?;
    let mut docs = 0usize;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 6 {
            continue;
        }
        let mut d = doc!(f.id => cols[0]);
        for ((field, _), value) in f.text.iter().zip(&cols[1..]) {
            d.add_text(*field, value);
        }
        writer.add_document(d)?;
        docs += 1;
    }
    writer.commit()?;
    let build_s = started.elapsed().as_secs_f64();
    let reader = index.reader()?;
    let searcher = reader.searcher();

    let mut out = Vec::new();
    for (kind, queries) in [("one word", WORDS), ("two words", PAIRS), ("a prefix", PREFIXES), ("a typo", TYPOS)] {
        let mut times = Vec::new();
        let mut hits = 0;
        for i in 0..repeat + 5 {
            let q = queries[i % queries.len()];
            let t = Instant::now();
            let query = build(&f, q, kind == "a typo")?;
            let top = searcher.search(&query, &TopDocs::with_limit(21).order_by_score())?;
            let mut ids = Vec::with_capacity(top.len());
            for (_, addr) in &top {
                let d: TantivyDocument = searcher.doc(*addr)?;
                ids.push(d.get_first(f.id).and_then(|v| v.as_str()).unwrap_or_default().to_owned());
            }
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if i >= 5 {
                times.push(ms);
                hits += ids.len();
            }
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
        out.push(format!(
            "\"{kind}\": {{\"p50_ms\": {:.3}, \"p95_ms\": {:.3}, \"hits\": {hits}}}",
            pct(0.5),
            pct(0.95)
        ));
    }
    println!(
        "{{\"documents\": {docs}, \"build_s\": {build_s:.1}, {}}}",
        out.join(", ")
    );
    Ok(())
}

/// Every word must match some field; a field's match counts by its
/// weight. The last word of 3 letters or more also matches as a prefix;
/// `typo` matches each word within one edit instead.
fn build(f: &Fields, q: &str, typo: bool) -> Result<Box<dyn Query>, tantivy::TantivyError> {
    let words: Vec<String> = q
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let last = i + 1 == words.len();
        let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, weight) in &f.text {
            let term = Term::from_field_text(*field, w);
            let q: Box<dyn Query> = if typo {
                Box::new(FuzzyTermQuery::new(term, 1, true))
            } else if last && w.chars().count() >= 3 {
                let exact: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                let prefix: Box<dyn Query> = Box::new(RegexQuery::from_pattern(
                    &format!("{}.*", regex_syntax::escape(w)),
                    *field,
                )?);
                Box::new(BooleanQuery::new(vec![(Occur::Should, exact), (Occur::Should, prefix)]))
            } else {
                Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
            };
            any.push((Occur::Should, Box::new(BoostQuery::new(q, *weight))));
        }
        must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
    }
    Ok(Box::new(BooleanQuery::new(must)))
}
