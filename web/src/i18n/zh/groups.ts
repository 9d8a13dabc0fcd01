// 简体中文: the groups screens. Same keys as ../en/groups.ts (a unit test checks).
export default {
} as Record<string, string>;
