-- Data entry: one new event of the QR-code stage with its data values (one autocommit INSERT, as the
-- tracker importer commits a small payload). Every index on event is maintained, the toolkit's
-- trigram index on the QR-code data element included.
-- Variables (-D): orgunits, qr_stage, qr_de, vaccine_de, dose_de.
\set ou random(1, :orgunits)
\set r random(1, 99999999)
\set dose random(1, 3)
INSERT INTO event (eventid, uid, programstageid, organisationunitid, occurreddate, created, deleted, eventdatavalues)
  VALUES (nextval('programstageinstance_sequence'), 'P' || lpad(currval('programstageinstance_sequence')::text, 10, '0'), :qr_stage, :ou, now(), now(), false,
          jsonb_build_object(
            ':qr_de', jsonb_build_object('value', 'QR-' || lpad(':r', 8, '0'), 'created', now(), 'lastUpdated', now(), 'storedBy', 'pgbench', 'providedElsewhere', false),
            ':vaccine_de', jsonb_build_object('value', 'Pfizer-BioNTech', 'created', now(), 'lastUpdated', now(), 'storedBy', 'pgbench', 'providedElsewhere', false),
            ':dose_de', jsonb_build_object('value', ':dose', 'created', now(), 'lastUpdated', now(), 'storedBy', 'pgbench', 'providedElsewhere', false)));
