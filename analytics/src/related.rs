//! "More like this" from co-listening, computed on the charts' schedule
//! into PostgreSQL (`related_cloudcasts`), so a mix page reads one index
//! range and no request waits on ClickHouse.
//!
//! A listener is in a cloudcast's audience after hearing it for at least
//! [`LISTEN_MIN_SECONDS`] (counted under the listening rule) in the last
//! [`WINDOW_DAYS`] days. Two cloudcasts are related when at least
//! `analytics.min_audience` people are in both audiences (fewer could single
//! someone out); they are ranked by the cosine of the two audiences,
//! `both / sqrt(|A| * |B|)`, so a mix everyone hears is not everyone's
//! neighbour. Minors, people who keep their activity private, suspended
//! and erased accounts are left out before anything is counted (PostgreSQL
//! decides, `visibility::sql_public_activity`). Whether a related mix may
//! be shown is decided when it is read (`catalog/src/related.rs`), which also
//! fills with shared tags where co-listening says too little.

use std::collections::HashMap;

use time::Duration as Days;
use uuid::Uuid;

use crate::AnalyticsError;
use crate::dates::DateRange;
use crate::metrics::timed;
use crate::sql::{self, Binds, Rule};

/// Counted seconds of a cloudcast that make someone one of its audience.
pub const LISTEN_MIN_SECONDS: u64 = 5 * 60;
/// How far back co-listening looks.
pub const WINDOW_DAYS: i64 = 90;
/// Related cloudcasts kept per cloudcast (a page shows fewer).
pub const KEEP: usize = 20;
/// The cloudcasts of one listener that are paired, their most heard first:
/// pairs grow as the square of a listener's list, and someone who heard
/// hundreds says little about any two of them.
const PER_LISTENER: usize = 100;
/// Lock id (arbitrary, fixed) so one analytics node computes at a time.
const RELATED_LOCK: i64 = 0x0c4a_4e1a;
/// Accounts asked of PostgreSQL per query.
const USERS_PER_QUERY: usize = 10_000;

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct Heard {
    listener_id: String,
    user_id: String,
    cloudcast_id: String,
    seconds: u64,
}

/// One related pair, in one direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    pub cloudcast: usize,
    pub related: usize,
    pub listeners: u32,
    pub score: f64,
}

/// The related cloudcasts of every cloudcast heard, from each listener's
/// list of (cloudcast, seconds): pairs heard by at least `min_audience`
/// listeners, ranked by cosine, the `keep` best of each. Cloudcasts are
/// indices (`0..n`), listeners' lists hold each at most once.
pub fn neighbours(
    listeners: &[Vec<(usize, u64)>],
    n: usize,
    min_audience: u32,
    keep: usize,
) -> Vec<Neighbour> {
    // Each listener's most heard, then by index so equal seconds cut alike.
    let lists: Vec<Vec<(usize, u64)>> = listeners
        .iter()
        .map(|heard| {
            let mut heard = heard.clone();
            heard.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            heard.truncate(PER_LISTENER);
            heard
        })
        .collect();
    let mut audience = vec![0u32; n];
    for &(a, _) in lists.iter().flatten() {
        audience[a] += 1;
    }
    // A cloudcast heard by fewer than the floor can be in no pair that
    // reaches it: left out before pairing, which keeps the pair count to
    // what may be kept.
    let floor = min_audience.max(1);
    let mut both: HashMap<(usize, usize), u32> = HashMap::new();
    for heard in &lists {
        let kept: Vec<usize> = heard
            .iter()
            .map(|&(a, _)| a)
            .filter(|&a| audience[a] >= floor)
            .collect();
        for (i, &a) in kept.iter().enumerate() {
            for &b in &kept[i + 1..] {
                *both.entry((a.min(b), a.max(b))).or_insert(0) += 1;
            }
        }
    }
    let mut by_cloudcast: HashMap<usize, Vec<Neighbour>> = HashMap::new();
    for ((a, b), count) in both {
        if count < floor {
            continue;
        }
        let score = f64::from(count) / (f64::from(audience[a]) * f64::from(audience[b])).sqrt();
        for (from, to) in [(a, b), (b, a)] {
            by_cloudcast.entry(from).or_default().push(Neighbour {
                cloudcast: from,
                related: to,
                listeners: count,
                score,
            });
        }
    }
    let mut out = Vec::new();
    for (_, mut list) in by_cloudcast {
        list.sort_by(|x, y| {
            y.score
                .total_cmp(&x.score)
                .then(y.listeners.cmp(&x.listeners))
                .then(x.related.cmp(&y.related))
        });
        list.truncate(keep);
        out.extend(list);
    }
    out
}

/// Who is behind a listener's list.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Account {
    /// No account: counted (nobody can be named from it).
    Anonymous,
    User(Uuid),
    /// An id that is no account's: never counted.
    Unknown,
}

impl Account {
    fn of(user_id: &str) -> Account {
        match (user_id.is_empty(), Uuid::parse_str(user_id)) {
            (true, _) => Account::Anonymous,
            (false, Ok(id)) => Account::User(id),
            (false, Err(_)) => Account::Unknown,
        }
    }
}

/// Who heard what, from ClickHouse: cloudcast ids, each listener's list
/// (by index into the ids) and the account behind each list.
struct Listening {
    cloudcasts: Vec<Uuid>,
    lists: Vec<Vec<(usize, u64)>>,
    accounts: Vec<Account>,
}

async fn listening(ch: &clickhouse::Client, rule: Rule) -> Result<Listening, AnalyticsError> {
    let today = DateRange::today();
    let range = DateRange {
        from: today - Days::days(WINDOW_DAYS - 1),
        to: today,
    };
    let b = Binds {
        listen_min_seconds: Some(LISTEN_MIN_SECONDS),
        ..Binds::ruled(&range, rule)
    };
    let mut cursor = sql::CO_LISTENING.bound(ch, &b)?.fetch::<Heard>()?;
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    let mut out = Listening {
        cloudcasts: Vec::new(),
        lists: Vec::new(),
        accounts: Vec::new(),
    };
    let mut current: Option<String> = None;
    // Rows come ordered by listener, so each list is built in one go.
    while let Some(row) = cursor.next().await? {
        let Ok(cc) = Uuid::parse_str(&row.cloudcast_id) else {
            continue;
        };
        if current.as_deref() != Some(row.listener_id.as_str()) {
            out.lists.push(Vec::new());
            out.accounts.push(Account::of(&row.user_id));
            current = Some(row.listener_id);
        }
        let next = index.len();
        let i = *index.entry(cc).or_insert(next);
        if i == out.cloudcasts.len() {
            out.cloudcasts.push(cc);
        }
        if let Some(list) = out.lists.last_mut() {
            list.push((i, row.seconds));
        }
    }
    Ok(out)
}

/// The accounts among `ids` whose activity may be used: not a minor's, not
/// kept private, not suspended or erased (an erased account has no row).
async fn usable_accounts(
    pool: &sqlx::PgPool,
    ids: Vec<Uuid>,
) -> Result<std::collections::HashSet<Uuid>, AnalyticsError> {
    let mut usable = std::collections::HashSet::new();
    let sql = format!(
        "SELECT u.id FROM users u WHERE u.id = ANY($1) AND {}",
        cloudcast_core::visibility::sql_public_activity("u")
    );
    for chunk in ids.chunks(USERS_PER_QUERY) {
        let rows: Vec<(Uuid,)> = sqlx::query_as(&sql).bind(chunk).fetch_all(pool).await?;
        usable.extend(rows.into_iter().map(|(id,)| id));
    }
    Ok(usable)
}

/// One round: returns the number of related pairs stored.
pub async fn compute_once(
    pool: &sqlx::PgPool,
    ch: &clickhouse::Client,
    rule: Rule,
    min_audience: u64,
) -> Result<usize, AnalyticsError> {
    let mut lock = pool.begin().await?;
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
        .bind(RELATED_LOCK)
        .fetch_one(&mut *lock)
        .await?;
    if !locked {
        return Ok(0);
    }
    let heard = timed(sql::CO_LISTENING.name, listening(ch, rule)).await?;
    let mut accounts: Vec<Uuid> = heard
        .accounts
        .iter()
        .filter_map(|a| match a {
            Account::User(id) => Some(*id),
            _ => None,
        })
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    let usable = usable_accounts(pool, accounts).await?;
    // Anonymous listeners count (nobody can be named from them); an
    // account counts only if its activity may be used.
    let lists: Vec<Vec<(usize, u64)>> = heard
        .lists
        .into_iter()
        .zip(&heard.accounts)
        .filter(|(_, account)| match account {
            Account::Anonymous => true,
            Account::User(id) => usable.contains(id),
            Account::Unknown => false,
        })
        .map(|(list, _)| list)
        .collect();
    let floor = u32::try_from(min_audience).unwrap_or(u32::MAX);
    let pairs = neighbours(&lists, heard.cloudcasts.len(), floor, KEEP);
    let ids = |f: fn(&Neighbour) -> usize| -> Vec<Uuid> {
        pairs.iter().map(|p| heard.cloudcasts[f(p)]).collect()
    };
    let (from, to) = (ids(|p| p.cloudcast), ids(|p| p.related));
    let listeners: Vec<i32> = pairs
        .iter()
        .map(|p| i32::try_from(p.listeners).unwrap_or(i32::MAX))
        .collect();
    let scores: Vec<f64> = pairs.iter().map(|p| p.score).collect();
    // The whole answer replaces the last one at once; only cloudcasts that
    // still exist (ClickHouse keeps rows of deleted ones until their
    // removal runs).
    sqlx::query("DELETE FROM related_cloudcasts")
        .execute(&mut *lock)
        .await?;
    sqlx::query(
        "INSERT INTO related_cloudcasts (cloudcast_id, related_id, listeners, score)
         SELECT v.a, v.b, v.n, v.s
           FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::float8[]) AS v(a, b, n, s)
           JOIN cloudcasts ca ON ca.id = v.a
           JOIN cloudcasts cb ON cb.id = v.b",
    )
    .bind(&from)
    .bind(&to)
    .bind(&listeners)
    .bind(&scores)
    .execute(&mut *lock)
    .await?;
    lock.commit().await?;
    Ok(pairs.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn related_of(all: &[Neighbour], cc: usize) -> Vec<(usize, u32)> {
        let mut mine: Vec<&Neighbour> = all.iter().filter(|n| n.cloudcast == cc).collect();
        mine.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.related.cmp(&y.related)));
        mine.iter().map(|n| (n.related, n.listeners)).collect()
    }

    #[test]
    fn pairs_below_the_floor_are_left_out_and_the_rest_ranked_by_cosine() {
        // 0 is heard by four; three of them heard 1, two heard 2, one heard 3.
        let lists = vec![
            vec![(0, 400), (1, 400), (2, 400)],
            vec![(0, 400), (1, 400), (2, 400)],
            vec![(0, 400), (1, 400)],
            vec![(0, 400), (3, 400)],
        ];
        let all = neighbours(&lists, 4, 2, 10);
        // 1: 3/sqrt(4*3) = 0.87; 2: 2/sqrt(4*2) = 0.71; 3 (one person) never.
        assert_eq!(related_of(&all, 0), vec![(1, 3), (2, 2)]);
        // 1: 0 at 3/sqrt(3*4) = 0.87, 2 at 2/sqrt(3*2) = 0.82.
        assert_eq!(related_of(&all, 1), vec![(0, 3), (2, 2)]);
        assert!(related_of(&all, 3).is_empty());
        let score = |a, b| {
            all.iter()
                .find(|n| n.cloudcast == a && n.related == b)
                .map(|n| n.score)
        };
        assert_eq!(score(0, 1), score(1, 0));
        assert!((score(0, 1).unwrap_or(0.0) - 3.0 / 12f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn an_account_id_that_is_no_uuid_never_counts() {
        assert_eq!(Account::of(""), Account::Anonymous);
        assert_eq!(Account::of("not-an-id"), Account::Unknown);
        let id = Uuid::from_u128(7);
        assert_eq!(Account::of(&id.to_string()), Account::User(id));
    }

    #[test]
    fn each_cloudcast_keeps_its_best() {
        let lists = vec![vec![(0, 1), (1, 1), (2, 1), (3, 1)]; 3];
        let all = neighbours(&lists, 4, 1, 2);
        assert_eq!(related_of(&all, 0).len(), 2);
        assert_eq!(all.len(), 8);
    }

    #[test]
    fn a_listener_of_hundreds_is_paired_on_their_most_heard() {
        let many: Vec<(usize, u64)> = (0..PER_LISTENER + 50)
            .map(|i| (i, 1000 - i as u64))
            .collect();
        let all = neighbours(&[many], PER_LISTENER + 50, 1, KEEP);
        assert!(all.iter().all(|n| n.related < PER_LISTENER));
        // The least heard cloudcasts are paired with nothing.
        assert!(related_of(&all, PER_LISTENER + 10).is_empty());
    }
}
