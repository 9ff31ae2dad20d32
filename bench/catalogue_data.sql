-- Generated catalogue for bench/catalogue.sh: :users users and :cloudcasts
-- cloudcasts with titles, tags, tracklists and descriptions drawn from
-- word lists, 95% public, 3% private, 2% unlisted, plays for a third.
-- The triggers that keep search documents and tag rows are switched off
-- for the bulk load and their work is done in bulk (the same functions).
\set ON_ERROR_STOP on
CREATE TEMP TABLE words AS
SELECT w, row_number() OVER () AS n FROM unnest(string_to_array(
  'deep house techno ambient dub disco funk soul jazz garage bass drum jungle trance '
  'minimal acid electro breaks grime dancehall reggae afro latin balearic cosmic '
  'summer winter night morning sunset sunrise midnight warehouse rooftop beach club '
  'session mix tape live recorded journey voyage dreams waves tides rhythm groove '
  'selection essentials classics anthems rarities heat pressure frequency signal', ' ')) w;
CREATE TEMP TABLE tagnames AS
SELECT t, row_number() OVER () AS n FROM unnest(string_to_array(
  'house,deep house,techno,ambient,dub,disco,funk,soul,jazz,uk garage,drum & bass,'
  'jungle,trance,minimal,acid,electro,breaks,grime,dancehall,reggae,afrobeat,latin,'
  'balearic,cosmic,hip hop,downtempo,lo-fi,experimental,industrial,italo', ',')) t;
CREATE TEMP TABLE artists AS
SELECT a, row_number() OVER () AS n FROM unnest(string_to_array(
  'Aphex Twin,Burial,Floating Points,Four Tet,Jeff Mills,Moodymann,Nina Kraviz,'
  'Peggy Gou,Ricardo Villalobos,Robert Hood,Theo Parrish,Kerri Chandler,Larry Heard,'
  'DJ Koze,Caribou,Jamie xx,Objekt,Helena Hauff,Ben UFO,Joy Orbison', ',')) a;

INSERT INTO users (id, email, username, password_hash, birth_date, is_minor)
SELECT gen_random_uuid(), 'bench' || i || '@example.org', 'dj_' || i, 'x', '1990-01-01', i % 50 = 0
  FROM generate_series(1, :users) i;
CREATE TEMP TABLE owners AS SELECT id, row_number() OVER (ORDER BY username) AS n FROM users;
CREATE INDEX ON owners (n);

ALTER TABLE cloudcasts DISABLE TRIGGER USER;
INSERT INTO cloudcasts (id, owner_id, title, status, original_key, duration_ms, description,
                        tags, tracklist, visibility, slug, created_at)
SELECT gen_random_uuid(), o.id,
       initcap(w1.w || ' ' || w2.w) || ' vol ' || (i % 97),
       'ready', NULL, 3600000,
       'Recorded ' || w3.w || ' with ' || w2.w || ' and ' || w1.w || ' records',
       ARRAY[t1.t, t2.t], jsonb_build_array(
         jsonb_build_object('start_ms', 0, 'artist', a1.a, 'title', initcap(w3.w)),
         jsonb_build_object('start_ms', 600000, 'artist', a2.a, 'title', initcap(w2.w))),
       CASE WHEN i % 100 < 95 THEN 'public' WHEN i % 100 < 98 THEN 'private' ELSE 'unlisted' END,
       'mix-' || i, now() - make_interval(secs => i * 30)
  FROM generate_series(1::bigint, :cloudcasts) i
  JOIN owners o ON o.n = 1 + (i * 7919) % :users
  JOIN words w1 ON w1.n = 1 + (i * 31) % 60
  JOIN words w2 ON w2.n = 1 + (i * 17 + 5) % 60
  JOIN words w3 ON w3.n = 1 + (i * 13 + 11) % 60
  JOIN tagnames t1 ON t1.n = 1 + (i * 3) % 30
  JOIN tagnames t2 ON t2.n = 1 + (i * 11 + 7) % 30
  JOIN artists a1 ON a1.n = 1 + (i * 5) % 20
  JOIN artists a2 ON a2.n = 1 + (i * 23 + 3) % 20;
ALTER TABLE cloudcasts ENABLE TRIGGER USER;
UPDATE cloudcasts c SET search_doc = cloudcast_search_doc(c.title, u.username, c.tags, c.tracklist, c.description)
  FROM users u WHERE u.id = c.owner_id;
INSERT INTO cloudcast_slugs (owner_id, slug, cloudcast_id) SELECT owner_id, slug, id FROM cloudcasts;
INSERT INTO cloudcast_tags (tag, cloudcast_id, listed_at)
SELECT DISTINCT t, c.id, c.listed_at FROM cloudcasts c, unnest(c.tags) t;
INSERT INTO cloudcast_charts (cloudcast_id, plays_30d, plays_7d, plays_prev_7d, trending)
SELECT id, p30, p7, prev, ln(1 + p7) * (p7 + 1) / (prev + 1)
  FROM (SELECT id, (abs(hashtext(id::text)) % 500) + 1 AS p30,
               abs(hashtext(id::text || 'w')) % 120 AS p7,
               abs(hashtext(id::text || 'p')) % 120 AS prev
          FROM cloudcasts WHERE abs(hashtext(id::text)) % 3 = 0) x;
UPDATE cloudcast_tags t SET plays_30d = k.plays_30d, trending = k.trending
  FROM cloudcast_charts k WHERE k.cloudcast_id = t.cloudcast_id;
-- "More like this": 20 co-listened neighbours for one cloudcast in ten, as
-- analytics/src/related.rs stores them; the others are filled by tags.
WITH numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM cloudcasts),
     total AS (SELECT count(*) AS n FROM numbered)
INSERT INTO related_cloudcasts (cloudcast_id, related_id, listeners, score)
SELECT a.id, b.id, 70 - k, 1.0 / (k + 1)
  FROM numbered a
 CROSS JOIN generate_series(1, 20) k
 CROSS JOIN total
  JOIN numbered b ON b.n = 1 + (a.n * 7 + k * 104729) % total.n
 WHERE a.n % 10 = 0 AND b.id <> a.id
ON CONFLICT DO NOTHING;
INSERT INTO tag_counts (tag, cloudcasts)
SELECT t.tag, count(*) FROM cloudcast_tags t JOIN cloudcasts c ON c.id = t.cloudcast_id
 WHERE c.visibility = 'public' AND c.status = 'ready' AND c.listed_at <= now() GROUP BY t.tag;
VACUUM ANALYZE;
-- Public playlists, one for every ten users (titles from the same words),
-- of five of the owner's neighbours' mixes, searched with the rest.
INSERT INTO playlists (id, owner_id, title, description, visibility)
SELECT gen_random_uuid(), o.id, initcap(w1.w || ' ' || w2.w) || ' picks',
       'Favourite ' || w3.w || ' mixes', CASE WHEN o.n % 20 = 0 THEN 'private' ELSE 'public' END
  FROM owners o
  JOIN words w1 ON w1.n = 1 + (o.n * 7) % 60
  JOIN words w2 ON w2.n = 1 + (o.n * 13 + 3) % 60
  JOIN words w3 ON w3.n = 1 + (o.n * 19 + 5) % 60
 WHERE o.n % 10 = 0;
INSERT INTO playlist_items (playlist_id, cloudcast_id, position)
SELECT p.id, x.id, x.k - 1
  FROM playlists p
 CROSS JOIN LATERAL (SELECT c.id, row_number() OVER (ORDER BY c.id) AS k
                       FROM cloudcasts c WHERE c.owner_id = p.owner_id LIMIT 5) x;
