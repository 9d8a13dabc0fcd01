// 简体中文: the settings screens. Same keys as ../en/settings.ts (a unit test checks).
export default {
} as Record<string, string>;
