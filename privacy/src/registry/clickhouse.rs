//! The ClickHouse tables of the registry (`mod.rs` says what each field
//! means); in a cluster each table's `{name}_local` is declared with it.

use super::{Data, Erase, Export, Store, Table};

const fn ch(name: &'static str, data: Data) -> Table {
    Table {
        name,
        store: Store::Clickhouse,
        data,
    }
}

pub(super) const TABLES: &[Table] = &[
    ch(
        "heartbeats",
        Data::Personal {
            export: &[
                Export::Heartbeats,
                Export::Parquet {
                    file: "listening_by_day.parquet",
                    sql: "SELECT toDate(ts) AS listened_on, cloudcast_id, count() AS beats,
                                 uniqExact(session_id) AS sessions
                            FROM heartbeats WHERE user_id = ?
                           GROUP BY listened_on, cloudcast_id ORDER BY listened_on, cloudcast_id",
                },
            ],
            erase: Erase::Mutation,
            kept: "analytics.raw_months whole months (13), then the monthly partition is dropped",
        },
    ),
    ch(
        "listen_sessions",
        Data::Personal {
            export: &[Export::Parquet {
                file: "play_history.parquet",
                // Aliases differ from column names: ClickHouse 18.16
                // resolves an alias that shadows a column inside the
                // aggregate that reads it.
                sql: "SELECT cloudcast_id, session_id,
                             minMerge(started) AS started_at, maxMerge(ended) AS ended_at,
                             uniqExactMerge(seconds) AS seconds_heard,
                             maxMerge(furthest_ms) AS furthest_position_ms,
                             argMaxMerge(last_ms) AS last_position_ms
                        FROM listen_sessions WHERE user_id = ?
                       GROUP BY cloudcast_id, session_id ORDER BY started_at",
            }],
            erase: Erase::Mutation,
            kept: "while the account lives: the play history",
        },
    ),
    ch(
        "listener_days",
        Data::Personal {
            export: &[Export::Through(
                "listening_by_day.parquet, from the heartbeats",
            )],
            erase: Erase::Mutation,
            kept: "while the account and the cloudcast live: the statistics",
        },
    ),
    ch(
        "session_days",
        Data::Personal {
            export: &[Export::Through(
                "play_history.parquet and heartbeats.parquet (the same sessions and beats)",
            )],
            erase: Erase::Mutation,
            kept: "as raw heartbeats (analytics.raw_months), dropped with their month",
        },
    ),
    ch(
        "listener_day_totals",
        Data::Personal {
            export: &[Export::Through(
                "listening_by_day.parquet, from the heartbeats",
            )],
            erase: Erase::Mutation,
            kept: "while the account and the cloudcast live: the statistics",
        },
    ),
    ch(
        "ad_interest",
        Data::Personal {
            export: &[Export::Parquet {
                file: "ad_interest.parquet",
                sql: "SELECT tag, day AS listened_on, sum(seconds) AS seconds_heard
                        FROM ad_interest WHERE user_id = ?
                       GROUP BY tag, listened_on ORDER BY listened_on, tag",
            }],
            erase: Erase::Mutation,
            kept: "until the ad consent is withdrawn or the account erased",
        },
    ),
    ch(
        "favourite_events",
        Data::Personal {
            export: &[Export::Through(
                "favourite_history in account.json (the same events)",
            )],
            erase: Erase::Mutation,
            kept: "with the account and the cloudcast (a copy of PostgreSQL's)",
        },
    ),
    ch(
        "repost_events",
        Data::Personal {
            export: &[Export::Through(
                "repost_history in account.json (the same events)",
            )],
            erase: Erase::Mutation,
            kept: "with the account and the cloudcast (a copy of PostgreSQL's)",
        },
    ),
    ch(
        "follow_events",
        Data::Personal {
            export: &[Export::Through(
                "follow_history in account.json (the same events)",
            )],
            erase: Erase::Mutation,
            kept: "with the account and the account followed (a copy of PostgreSQL's)",
        },
    ),
    ch(
        "download_requests",
        Data::Nobody(
            "requests for downloads, from which downloads are counted: the mix, the time, the app and bytes, and a hash of address and user agent under the day's key (deleted after a day), linked to no account; removed with the cloudcast",
        ),
    ),
    ch(
        "referrer_days",
        Data::Nobody(
            "listeners per referring domain, cloudcast and day (hashed listener ids in exact-distinct states)",
        ),
    ),
    ch(
        "browser_days",
        Data::Nobody(
            "listeners per browser, cloudcast and day (hashed listener ids in exact-distinct states)",
        ),
    ),
    ch(
        "retention_days",
        Data::Nobody(
            "listeners per 10 s of a cloudcast and day (hashed listener ids in exact-distinct states)",
        ),
    ),
    ch("rollup_days", Data::Nobody("which days are rolled up")),
    ch("day_beats", Data::Nobody("beats per day")),
    ch("schema_migrations", Data::Nobody("the migrations applied")),
    ch(
        "cloudcast_days",
        Data::Nobody("a plain view: listeners, seconds and plays per cloudcast and day"),
    ),
    ch(
        "counted_listener_days",
        Data::Nobody("a plain view over listener_day_totals and session_days (erased with them)"),
    ),
    ch(
        "listener_days_mv",
        Data::Nobody("the view filling listener_days"),
    ),
    ch(
        "session_days_mv",
        Data::Nobody("the view filling session_days"),
    ),
    ch(
        "listen_sessions_mv",
        Data::Nobody("the view filling listen_sessions"),
    ),
    ch(
        "referrer_days_mv",
        Data::Nobody("the view filling referrer_days"),
    ),
    ch(
        "browser_days_mv",
        Data::Nobody("the view filling browser_days"),
    ),
    ch(
        "retention_days_mv",
        Data::Nobody("the view filling retention_days"),
    ),
    ch(
        "ad_interest_mv",
        Data::Nobody("the view filling ad_interest"),
    ),
    ch("day_beats_mv", Data::Nobody("the view filling day_beats")),
];
