-- Where a package's course lives and what it teaches: the access page sends the customer to
-- `content_url` (the course platform or a private playlist) and lists `lessons` (an array of
-- titles, in order). Both are set by `./run.sh admin packages set-content`, audited.
ALTER TABLE packages
    ADD COLUMN content_url text
        CHECK (content_url ~ '^https://[^[:space:]]+$' AND char_length(content_url) <= 508),
    ADD COLUMN lessons jsonb NOT NULL DEFAULT '[]'
        CHECK (jsonb_typeof(lessons) = 'array' AND jsonb_array_length(lessons) <= 100);

UPDATE packages
SET lessons = '["Dari ide ke naskah dengan AI",
                "Membuat storyboard dan gambar adegan",
                "Menghidupkan adegan: video AI",
                "Suara, musik, dan sulih suara",
                "Menyunting dan merilis film pendek"]'
WHERE package_id = 'ai-movie-course' AND lessons = '[]';
