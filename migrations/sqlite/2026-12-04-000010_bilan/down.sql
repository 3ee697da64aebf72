DROP TABLE evaluations;
DROP TABLE session_guests;
