// OWNER: people. Placeholder until the people work lands; the export is the contract.

export function SettingsScreen(_p: { section?: string }) {
  return <section class="placeholder">SettingsScreen</section>;
}
