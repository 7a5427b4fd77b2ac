-- Aggregate over events like a DHIS2 event report / program indicator: events of the QR-code stage per
-- org unit and month for one random year, with the dose data value read from eventdatavalues.
-- Scans the whole event table (no index serves it); work_mem and parallel workers matter here.
-- Variables (-D): qr_stage, dose_de.
\set y random(2021, 2023)
SELECT ev.organisationunitid, date_trunc('month', ev.occurreddate) AS month, count(*) AS events,
       count(*) FILTER (WHERE ev.eventdatavalues #>> '{:dose_de,value}' = '1') AS first_doses
  FROM event ev
 WHERE ev.programstageid = :qr_stage AND ev.deleted IS FALSE
   AND ev.occurreddate >= make_date(:y, 1, 1) AND ev.occurreddate < make_date(:y + 1, 1, 1)
 GROUP BY 1, 2
 ORDER BY 1, 2;
