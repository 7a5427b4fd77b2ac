-- One registration in its own transaction, as DHIS2 2.41/2.42 writes it: a tracked entity, its five
-- searchable attribute values and one event of the QR-code stage (bench/search.ts: the writer that
-- runs during the CONCURRENTLY index build; 7 rows per transaction). 2.41 and 2.42 still take the
-- ids from trackedentityinstance_sequence and programstageinstance_sequence (renamed in 2.43.1).
-- Variables (-D): orgunits, attr_first, attr_last, attr_phone, attr_nid, attr_village, qr_stage, qr_de, vaccine_de, dose_de.
\set r random(1, 99999999)
\set ou random(1, :orgunits)
BEGIN;
INSERT INTO trackedentity (trackedentityid, uid, organisationunitid, created, lastupdated, deleted)
  VALUES (nextval('trackedentityinstance_sequence'), 'W' || lpad(currval('trackedentityinstance_sequence')::text, 10, '0'), :ou, now(), now(), false);
INSERT INTO trackedentityattributevalue (trackedentityid, trackedentityattributeid, value, created, lastupdated) VALUES
  (currval('trackedentityinstance_sequence'), :attr_first, 'Wri' || substr(md5('f:r'), 1, 6), now(), now()),
  (currval('trackedentityinstance_sequence'), :attr_last, 'Ter' || substr(md5('l:r'), 1, 6), now(), now()),
  (currval('trackedentityinstance_sequence'), :attr_phone, '+2547' || lpad(':r', 8, '0'), now(), now()),
  (currval('trackedentityinstance_sequence'), :attr_nid, 'W' || currval('trackedentityinstance_sequence'), now(), now()),
  (currval('trackedentityinstance_sequence'), :attr_village, 'Writer village ' || (:r % 40), now(), now());
INSERT INTO event (eventid, uid, programstageid, organisationunitid, occurreddate, created, deleted, eventdatavalues)
  VALUES (nextval('programstageinstance_sequence'), 'W' || lpad(currval('programstageinstance_sequence')::text, 10, '0'), :qr_stage, :ou, now(), now(), false,
          jsonb_build_object(
            ':qr_de', jsonb_build_object('value', 'QR-' || lpad(':r', 8, '0'), 'created', now(), 'lastUpdated', now(), 'providedElsewhere', false),
            ':vaccine_de', jsonb_build_object('value', 'Moderna', 'created', now(), 'lastUpdated', now(), 'providedElsewhere', false),
            ':dose_de', jsonb_build_object('value', '1', 'created', now(), 'lastUpdated', now(), 'providedElsewhere', false)));
END;
