// OWNER: people. Placeholder until the people work lands; the export is the contract.

export function PeopleScreen(_p: { userId?: string }) {
  return <section class="placeholder">PeopleScreen</section>;
}
