import { AuditTrail } from '../components/AuditTrail';

/** What any operator, service or player did, searchable; the same trail the player page shows for one player. */
export function AuditPage() {
  return (
    <>
      <h1>Audit</h1>
      <AuditTrail title="Search the audit" />
    </>
  );
}
