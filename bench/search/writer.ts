/** The concurrent writer of the search benchmark (pgbench, bench/pgbench/tracker-write.sql). */
import { ATTRIBUTES, DATA_ELEMENTS, FIRST_NAME_UID, LAST_NAME_UID, NATIONAL_ID_UID, PHONE_UID, PROGRAM_STAGES } from "../../tests/support/dhis2-schema";
import { attrId } from "./queries";

// ---------------------------------------------------------------------------------------------
// the concurrent writer
// ---------------------------------------------------------------------------------------------

/** pgbench -D definitions the scripts under bench/pgbench use. */
export function pgbenchDefines(orgUnits: number, nterms = 0): string[] {
  const d: Record<string, string | number> = {
    orgunits: orgUnits,
    attr_first: attrId(FIRST_NAME_UID),
    attr_last: attrId(LAST_NAME_UID),
    attr_phone: attrId(PHONE_UID),
    attr_nid: attrId(NATIONAL_ID_UID),
    attr_village: ATTRIBUTES[4].id,
    qr_stage: PROGRAM_STAGES.qr.id,
    qr_de: DATA_ELEMENTS.qr.uid,
    vaccine_de: DATA_ELEMENTS.vaccine.uid,
    dose_de: DATA_ELEMENTS.dose.uid,
    nterms,
  };
  return Object.entries(d).flatMap(([k, v]) => ["-D", `${k}=${v}`]);
}

/** Rows one transaction of bench/pgbench/tracker-write.sql inserts. */
export const WRITER_ROWS_PER_TX = 1 + 5 + 1;
