"""The eval suite: question/answer fixtures, deterministic metrics and the regression gate."""
