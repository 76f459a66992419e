import { test } from 'node:test'
import assert from 'node:assert/strict'
import { answerTimeout } from '../../src/forward/answer-timeout.ts'

test('the engine gets the base time to answer; a stop or restart gets its own t on top, or forever for t<0', () => {
  assert.equal(answerTimeout('ContainerList', {}, 1000), 1000)
  assert.equal(answerTimeout('ContainerStop', { t: ['30'] }, 1000), 31_000)
  assert.equal(answerTimeout('ContainerRestart', { t: ['5'] }, 1000), 6000)
  assert.equal(answerTimeout('ContainerStop', {}, 1000), 1000)
  assert.equal(answerTimeout('ContainerStop', { t: ['-1'] }, 1000), null)
})
