DROP TABLE invite_copies;
