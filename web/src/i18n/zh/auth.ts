// 简体中文: the auth screens. Same keys as ../en/auth.ts (a unit test checks).
export default {
} as Record<string, string>;
