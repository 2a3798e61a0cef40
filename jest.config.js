'use strict';

module.exports = {
  testEnvironment: 'node',
  testMatch: [
    '<rootDir>/__test__/**/*.spec.js',
    // ws's own server tests, vendored with their file name (see __test__/ws-suite/).
    '<rootDir>/__test__/ws-suite/**/*.test.js',
  ],
  testTimeout: 20000,
};
