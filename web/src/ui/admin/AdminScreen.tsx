// OWNER: admin. Placeholder until the admin work lands; the export is the contract.

export function AdminScreen(_p: { section?: string }) {
  return <section class="placeholder">AdminScreen</section>;
}
