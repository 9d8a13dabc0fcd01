// OWNER: groups. Placeholder until the groups work lands; the export is the contract.

export function GroupsScreen(_p: {}) {
  return <section class="placeholder">GroupsScreen</section>;
}
