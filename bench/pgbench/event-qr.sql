-- Event lookup by the QR-code data element (a vaccination certificate scanned at a checkpoint), DHIS2
-- 2.41/2.42 event export shape: stage, not deleted, lower(eventdatavalues #>> '{de,value}') = literal.
-- Served by the toolkit's trigram expression index on that data element. Term: bench_search_term kind 'qr'.
-- Variables (-D): nqr, qr_stage, qr_de.
\set k random(1, :nqr)
SELECT term FROM bench_search_term WHERE kind = 'qr' AND n = :k \gset
SELECT ev.eventid, ev.uid, ev.occurreddate, ev.organisationunitid
  FROM event ev
 WHERE ev.programstageid = :qr_stage AND ev.deleted IS FALSE
   AND lower(ev.eventdatavalues #>> '{:qr_de,value}') = ':term'
 ORDER BY ev.occurreddate DESC, ev.eventid DESC LIMIT 50 OFFSET 0;
