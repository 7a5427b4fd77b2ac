-- Tracker search "equals" on one attribute (national id or full last name), DHIS2 2.41/2.42 shape:
-- lower(value) = lower-cased literal. DHIS2's own btree in_trackedentity_attribute_value
-- (trackedentityattributeid, lower(value)) serves it. Term: bench_search_term kind 'exact'.
-- Variables (-D): nexact.
\set k random(1, :nexact)
SELECT attr, term FROM bench_search_term WHERE kind = 'exact' AND n = :k \gset
SELECT TE.trackedentityid, TE.uid, TE.created, TE.lastupdated, OU.uid AS orgunit_uid, OU.name AS orgunit_name
  FROM trackedentity TE
 INNER JOIN trackedentityattributevalue teav ON teav.trackedentityattributeid = :attr AND teav.trackedentityid = TE.trackedentityid AND lower(teav.value) = ':term'
 INNER JOIN organisationunit OU ON OU.organisationunitid = TE.organisationunitid
 WHERE TE.deleted IS FALSE
 ORDER BY TE.trackedentityid DESC LIMIT 50 OFFSET 0;
