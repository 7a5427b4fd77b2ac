-- Tracker search "contains" on one attribute, as DHIS2 2.41/2.42 sends it (HibernateTrackedEntityStore:
-- INNER JOIN trackedentityattributevalue ON attribute id, tracked entity and lower(value) LIKE '%term%';
-- org unit join; not deleted; newest first; page of 50). Served by the toolkit's partial trigram GIN
-- index of the attribute. Term and attribute: a random row of bench_search_term (kind 'substring':
-- first name, last name and phone fragments taken from the seeded data).
-- Variables (-D): nsubstring.
\set k random(1, :nsubstring)
SELECT attr, term FROM bench_search_term WHERE kind = 'substring' AND n = :k \gset
SELECT TE.trackedentityid, TE.uid, TE.created, TE.lastupdated, OU.uid AS orgunit_uid, OU.name AS orgunit_name
  FROM trackedentity TE
 INNER JOIN trackedentityattributevalue teav ON teav.trackedentityattributeid = :attr AND teav.trackedentityid = TE.trackedentityid AND lower(teav.value) LIKE '%:term%'
 INNER JOIN organisationunit OU ON OU.organisationunitid = TE.organisationunitid
 WHERE TE.deleted IS FALSE
 ORDER BY TE.trackedentityid DESC LIMIT 50 OFFSET 0;
