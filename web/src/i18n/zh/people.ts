// 简体中文: the people screens. Same keys as ../en/people.ts (a unit test checks).
export default {
} as Record<string, string>;
