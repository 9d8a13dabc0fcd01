// 简体中文: the admin screens. Same keys as ../en/admin.ts (a unit test checks).
export default {
} as Record<string, string>;
