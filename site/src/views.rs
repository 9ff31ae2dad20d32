//! What the pages read from the API: the very structs its handlers return
//! (the site sits above the domain crates, so the arrows still point
//! down). A changed shape fails this crate's build, or a page's test where
//! a field became optional, never a page at run time. The pages remain a
//! client of the API over HTTP, so its rules (visibility, minors, hidden
//! counts) decide what a page can show. Names are the pages' own where the
//! API's are longer.

pub use cloudcast_accounts::profiles::PublicUser;
pub use cloudcast_accounts::sessions::Me;
pub use cloudcast_analytics::history::{Activity, ActivityEntry, History};
pub use cloudcast_analytics::insights::Insights;
pub use cloudcast_analytics::stats::{RetentionRow, Stats};
pub use cloudcast_analytics::tracks::TrackRead;
pub use cloudcast_catalog::cards::CloudcastCard as Card;
pub use cloudcast_catalog::cloudcasts::CloudcastView as Cloudcast;
pub use cloudcast_catalog::comments::{CommentView as Comment, Page as CommentPage};
pub use cloudcast_catalog::follows::{FeedEntry, FeedKind, FollowEntry, FollowState};
pub use cloudcast_catalog::lists::Listing;
pub use cloudcast_catalog::marks::Marked;
pub use cloudcast_catalog::metadata::Track;
pub use cloudcast_catalog::playlists::{PlaylistSummary, PlaylistView as Playlist};
pub use cloudcast_catalog::podcast::PublicFeed;
pub use cloudcast_catalog::purchase_links::LinkCount;
pub use cloudcast_catalog::related::{Related, RelatedCloudcast};
pub use cloudcast_catalog::search::{SearchResults, UserCard};
pub use cloudcast_catalog::tags::TagView as Tag;
pub use cloudcast_notifications::list::{NotificationPage, Unread};
pub use cloudcast_notifications::settings::Unsubscribed;
